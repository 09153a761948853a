#!/bin/sh
# cli_test.sh -- black-box test of the digby command-line tool.
#
#   sh tests/cli_test.sh BINARY SCRATCH-DIR
#
# Exercises every command and error path, dump -> load -> dump round trips
# (byte-identical), and LMDB interop both ways when mdb_load and mdb_dump
# are installed (Debian: lmdb-utils; skipped with a message otherwise).
# Set DIGBY_TEST_WRAPPER to run every tool call under a wrapper, e.g.
#   DIGBY_TEST_WRAPPER='valgrind -q --leak-check=full --error-exitcode=99'
# Exit status: 0 all passed, 1 some failed, 2 bad arguments.

set -u

if [ $# -ne 2 ]; then
    echo "usage: sh tests/cli_test.sh BINARY SCRATCH-DIR" >&2
    exit 2
fi
bin=$1
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
[ -x "$bin" ] || { echo "cli_test: $bin is not an executable" >&2; exit 2; }
mkdir -p "$2" || exit 2
d=$(cd "$2" && pwd)/cli_test
rm -rf "$d"
mkdir "$d" || exit 2
wrap=${DIGBY_TEST_WRAPPER:-}

tests=0
failures=0
pass() { tests=$((tests + 1)); }
bad() {
    tests=$((tests + 1))
    failures=$((failures + 1))
    echo "FAIL: $*" >&2
}

# dg ARGS...: run the tool; stdout in $d/out, stderr in $d/err, status $rc.
dg() {
    $wrap "$bin" "$@" >"$d/out" 2>"$d/err"
    rc=$?
}

# ok DESC ARGS...: must exit 0 with nothing on stderr.
ok() {
    _desc=$1
    shift
    dg "$@"
    if [ "$rc" -ne 0 ] || [ -s "$d/err" ]; then
        bad "$_desc: exit $rc, stderr: $(cat "$d/err")"
        return 1
    fi
    pass
}

# out DESC EXPECTED ARGS...: exit 0, stdout exactly EXPECTED plus a newline
# (EXPECTED "" means no output at all).
out() {
    _desc=$1
    _want=$2
    shift 2
    ok "$_desc" "$@" || return 1
    if [ -z "$_want" ]; then : >"$d/want"; else printf '%s\n' "$_want" >"$d/want"; fi
    if ! cmp -s "$d/want" "$d/out"; then
        tests=$((tests - 1))
        bad "$_desc: stdout differs:
--- want
$(cat "$d/want")
--- got
$(cat "$d/out")"
        return 1
    fi
}

# raw DESC EXPECTED ARGS...: exit 0, stdout exactly EXPECTED (no newline).
raw() {
    _desc=$1
    _want=$2
    shift 2
    ok "$_desc" "$@" || return 1
    printf '%s' "$_want" >"$d/want"
    if ! cmp -s "$d/want" "$d/out"; then
        tests=$((tests - 1))
        bad "$_desc: stdout is '$(cat "$d/out")', want '$_want'"
        return 1
    fi
}

# err DESC STATUS PATTERN ARGS...: exit STATUS; stderr's first line is
# "digby: ..." matching the extended regex PATTERN; status 1 gives exactly
# one line, status 2 also a "usage: " line.
err() {
    _desc=$1
    _want=$2
    _pat=$3
    shift 3
    dg "$@"
    _first=$(sed -n 1p "$d/err")
    _lines=$(wc -l <"$d/err" | tr -d ' ')
    if [ "$rc" -ne "$_want" ]; then
        bad "$_desc: exit $rc, want $_want; stderr: $(cat "$d/err")"
        return 1
    fi
    case $_first in
    "digby: "*) ;;
    *) bad "$_desc: stderr does not start with 'digby: ': $(cat "$d/err")"; return 1 ;;
    esac
    if [ "$_want" -eq 1 ] && [ "$_lines" != 1 ]; then
        bad "$_desc: want one stderr line, got $_lines: $(cat "$d/err")"
        return 1
    fi
    if [ "$_want" -eq 2 ] && ! grep -q '^usage: ' "$d/err"; then
        bad "$_desc: no usage line: $(cat "$d/err")"
        return 1
    fi
    if ! printf '%s\n' "$_first" | grep -Eq -- "$_pat"; then
        bad "$_desc: stderr '$_first' does not match /$_pat/"
        return 1
    fi
    pass
}

# same DESC FILE1 FILE2: byte-identical files.
same() {
    if cmp -s "$2" "$3"; then
        pass
    else
        bad "$1: $2 and $3 differ: $(cmp "$2" "$3" 2>&1 | sed 1q)"
    fi
}

hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }

# ---------------------------------------------------------------------------
# Usage and bad arguments
db=$d/t.db

dg
if [ "$rc" -eq 2 ] && grep -q '^usage: digby FILE COMMAND' "$d/err"; then pass; else bad "no arguments: exit $rc"; fi
dg --help
if [ "$rc" -eq 0 ] && [ ! -s "$d/err" ] &&
   grep -q '^usage: ' "$d/out" && grep -q '  load ' "$d/out" && grep -q '  check ' "$d/out"; then
    pass
else
    bad "--help: exit $rc"
fi
dg --version
case $rc:$(cat "$d/out") in 0:"digby "*) pass ;; *) bad "--version: exit $rc: $(cat "$d/out")" ;; esac

err "unknown command"       2 "unknown command 'frob'"   "$db" frob
err "get without key"       2 "get: missing arguments"   "$db" get
err "get with two keys"     2 "get: too many arguments"  "$db" get a b
err "tables with argument"  2 "tables: too many"         "$db" tables x
err "unknown option"        2 "scan: unknown option '-z'" "$db" scan -z
err "option without value"  2 "scan: option -n needs a value" "$db" scan -n
err "option -t no value"    2 "option -t needs a value"  "$db" get -t
err "bad limit"             2 "scan: bad limit 'x'"      "$db" scan -n x
err "negative limit"        2 "bad limit"                "$db" scan -n -1
err "bad hex key"           2 "get: bad hex 'zz'"        "$db" get -x zz
err "odd hex key"           2 "bad hex 'abc'"            "$db" get -x abc
err "dump -a and -t"        2 "dump: -a and -t"          "$db" dump -a -t x
err "empty table name"      2 "put: empty table name"    "$db" put -t "" k v
err "empty file name"       2 "empty FILE name"          "" get k
err "usage error is invalid argument" 2 ": invalid argument$" "$db" get
[ -e "$db" ] && bad "a usage error created $db" || pass

# ---------------------------------------------------------------------------
# Missing file: only put and load create one
for c in "get k" "del k" "del-range -p k" scan tables stat check dump; do
    # shellcheck disable=SC2086
    err "missing file: $c" 1 "^digby: open '.*/t\.db': cannot open the database file$" "$db" $c
done
[ -e "$db" ] && bad "read commands created $db" || pass

# Not a digby file
awk 'BEGIN { for (i = 0; i < 2000; i++) print "this is not a database file" }' >"$d/text.db"
err "not a digby file" 1 "not a digby database file" "$d/text.db" get k
err "not a digby file (put)" 1 "not a digby database file" "$d/text.db" put k v

# ---------------------------------------------------------------------------
# put / get / del
ok  "put creates the file" "$db" put k1 v1
[ -f "$db" ] && pass || bad "put did not create $db"
raw "get"                  "v1" "$db" get k1
printf 'v1' >"$d/want"; same "get prints the value raw" "$d/want" "$d/out"
ok  "get -v" "$db" get -v k1
v1=$(sed -n 1p "$d/out")
case $v1 in ''|*[!0-9]*) bad "get -v: first line '$v1' is not a number" ;; *) pass ;; esac
[ "$(sed -n 2p "$d/out")" = v1 ] && pass || bad "get -v: value line"
ok  "overwrite" "$db" put k1 v2
raw "get after overwrite" "v2" "$db" get k1
ok  "get -v after overwrite" "$db" get -v k1
v2=$(sed -n 1p "$d/out")
[ "$v2" -gt "$v1" ] 2>/dev/null && pass || bad "version did not grow: $v1 -> $v2"
err "put -N on existing key" 1 "^digby: put 'k1': already exists$" "$db" put -N k1 v3
raw "put -N kept the value" "v2" "$db" get k1
ok  "put -N on new key" "$db" put -N k9 v9
printf 'a\000b\377\n\\c' >"$d/bin.val"
ok  "put - reads stdin" "$db" put bin - <"$d/bin.val"
ok  "get binary value" "$db" get bin
same "binary value round trip" "$d/bin.val" "$d/out"
ok  "put empty value" "$db" put empty ""
ok  "get empty value" "$db" get empty
[ -s "$d/out" ] && bad "empty value printed bytes" || pass
ok  "put empty key" "$db" put "" "for the empty key"
raw "get empty key" "for the empty key" "$db" get ""
awk 'BEGIN { for (i = 0; i < 100000; i++) printf "%c", 97 + i % 26 }' >"$d/big.val"
ok  "put 100 KB value (overflow pages)" "$db" put big - <"$d/big.val"
ok  "get 100 KB value" "$db" get big
same "100 KB value round trip" "$d/big.val" "$d/out"
k990=$(awk 'BEGIN { for (i = 0; i < 990; i++) printf "k" }')
ok  "990-byte key (the maximum at 4096)" "$db" put "$k990" max
raw "get 990-byte key" "max" "$db" get "$k990"
ok  "991-byte key (a large key, in overflow pages)" "$db" put "${k990}k" large
raw "get 991-byte key" "large" "$db" get "${k990}k"
raw "get 990-byte key beside it" "max" "$db" get "$k990"
ok  "put -x" "$db" put -x 00ff "hex key"
raw "get -x" "hex key" "$db" get -x 00FF
ok  "-- ends options" "$db" put -- -dash dashed
raw "get -- -dash" "dashed" "$db" get -- -dash
ok  "value - with -t" "$db" put -t tv k - <"$d/bin.val"
ok  "del" "$db" del k1
err "get deleted key" 1 "^digby: get 'k1': not found$" "$db" get k1
err "del missing key" 1 "^digby: del 'k1': not found$" "$db" del k1
err "get missing key, escaped" 1 "^digby: get 'a\\\\x09b': not found$" "$db" get "a	b"
err "del in missing table" 1 "^digby: table 'nosuch': not found$" "$db" del -t nosuch k
err "get in missing table" 1 "^digby: table 'nosuch': not found$" "$db" get -t nosuch k
err "scan of missing table" 1 "^digby: table 'nosuch': not found$" "$db" scan -t nosuch

# ---------------------------------------------------------------------------
# Tables
tdb=$d/tables.db
ok  "put -t creates a table" "$tdb" put -t users alice 1
ok  "put -t" "$tdb" put -t users bob 2
ok  "put -t another" "$tdb" put -t colors red ff0000
ok  "put global" "$tdb" put alice global
out "tables" "$(printf 'colors\t1\nusers\t2')" "$tdb" tables
raw "get -t" "2" "$tdb" get -t users bob
raw "global is separate" "global" "$tdb" get alice
err "get -t missing key" 1 "^digby: get 'nobody' in table 'users': not found$" "$tdb" get -t users nobody
out "scan -t" "$(printf 'alice\t1\nbob\t2')" "$tdb" scan -t users
ok  "del -t" "$tdb" del -t users alice
out "tables after del" "$(printf 'colors\t1\nusers\t1')" "$tdb" tables
ok  "put for empty tables list" "$d/notables.db" put a b
out "tables: none" "" "$d/notables.db" tables

# ---------------------------------------------------------------------------
# scan
sdb=$d/scan.db
for k in a ab abc b ba c; do
    ok "scan setup $k" "$sdb" put "$k" "v$k" || break
done
out "scan all" "$(printf 'a\tva\nab\tvab\nabc\tvabc\nb\tvb\nba\tvba\nc\tvc')" "$sdb" scan
out "scan -p" "$(printf 'a\tva\nab\tvab\nabc\tvabc')" "$sdb" scan -p a
out "scan -p -r" "$(printf 'abc\tvabc\nab\tvab')" "$sdb" scan -p ab -r
out "scan --from --to (to exclusive)" "$(printf 'ab\tvab\nabc\tvabc')" "$sdb" scan --from ab --to b
out "scan --from --to -r" "$(printf 'abc\tvabc\nab\tvab')" "$sdb" scan --from ab --to b -r
out "scan --from" "$(printf 'b\tvb\nba\tvba\nc\tvc')" "$sdb" scan --from b
out "scan --from between keys" "$(printf 'b\tvb\nba\tvba\nc\tvc')" "$sdb" scan --from abd
out "scan --to -r" "$(printf 'abc\tvabc\nab\tvab\na\tva')" "$sdb" scan --to b -r
out "scan -n" "$(printf 'a\tva\nab\tvab')" "$sdb" scan -n 2
out "scan -r -n" "$(printf 'c\tvc\nba\tvba')" "$sdb" scan -r -n 2
out "scan -n 0" "" "$sdb" scan -n 0
out "scan -p with --from" "$(printf 'ab\tvab\nabc\tvabc')" "$sdb" scan -p a --from ab
out "scan -p with --to" "$(printf 'a\tva')" "$sdb" scan -p a --to ab
out "scan -p no match" "" "$sdb" scan -p zz
out "scan --from past the end" "" "$sdb" scan --from d
out "scan --to before the start -r" "" "$sdb" scan --to 0 -r
out "scan empty range" "" "$sdb" scan --from b --to b
ok  "scan setup escapes" "$sdb" put "t	ab" 'v\1'
out "scan escapes tab and backslash" "$(printf 't\\x09ab\tv\\\\1')" "$sdb" scan -p t
ok  "scan setup binary" "$sdb" put -x 7a00ff "$(printf 'line1\nline2')"
out "scan escapes binary" "$(printf 'z\\x00\\xff\tline1\\x0aline2')" "$sdb" scan -p z
long=$(awk 'BEGIN { for (i = 0; i < 300; i++) printf "x" }')
x200=$(awk 'BEGIN { for (i = 0; i < 200; i++) printf "x" }')
ok  "scan setup long value" "$sdb" put long "$long"
out "scan truncates long values" "$(printf 'long\t%s...' "$x200")" "$sdb" scan -p long
out "scan -l shows whole values" "$(printf 'long\t%s' "$long")" "$sdb" scan -p long -l
ok  "scan 200-byte value" "$sdb" put long "$x200"
out "scan does not truncate 200 bytes" "$(printf 'long\t%s' "$x200")" "$sdb" scan -p long
xdb=$d/scanx.db
for k in 00 fe ff ff00 ffff ffffff 0100; do
    ok "scan -x setup $k" "$xdb" put -x "$k" "$k" || break
done
out "scan -x -p ff (successor of 0xff...)" "$(printf '\\xff\tff\n\\xff\\x00\tff00\n\\xff\\xff\tffff\n\\xff\\xff\\xff\tffffff')" "$xdb" scan -x -p ff
out "scan -x -p ff -r" "$(printf '\\xff\\xff\\xff\tffffff\n\\xff\\xff\tffff\n\\xff\\x00\tff00\n\\xff\tff')" "$xdb" scan -x -p ff -r
out "scan -x -p ffff -r" "$(printf '\\xff\\xff\\xff\tffffff\n\\xff\\xff\tffff')" "$xdb" scan -x -p ffff -r
out "scan -x -p 00" "$(printf '\\x00\t00')" "$xdb" scan -x -p 00
out "scan -x --from --to" "$(printf '\\x01\\x00\t0100\n\\xfe\tfe')" "$xdb" scan -x --from 01 --to ff
out "scan -p '' is everything" "$(printf '\\x00\t00\n\\x01\\x00\t0100\n\\xfe\tfe\n\\xff\tff\n\\xff\\x00\tff00\n\\xff\\xff\tffff\n\\xff\\xff\\xff\tffffff')" "$xdb" scan -p ""
edb=$d/empty.db
ok  "empty db setup" "$edb" put k v
ok  "empty db setup del" "$edb" del k
out "scan of an empty tree" "" "$edb" scan
out "scan -r of an empty tree" "" "$edb" scan -r

# ---------------------------------------------------------------------------
# del-range
rdb=$d/delrange.db
for k in a ab abc b ba c; do
    ok "del-range setup $k" "$rdb" put "$k" "v$k" || break
done
ok  "del-range setup table" "$rdb" put -t tab ab x
err "del-range without bounds" 2 "del-range: give -p, --from or --to" "$rdb" del-range
err "del-range positional"  2 "del-range: too many arguments" "$rdb" del-range k
out "del-range --from --to (to exclusive)" "2" "$rdb" del-range --from ab --to b
out "del-range left the rest" "$(printf 'a\tva\nb\tvb\nba\tvba\nc\tvc')" "$rdb" scan
out "del-range -p" "2" "$rdb" del-range -p b
out "del-range empty range" "0" "$rdb" del-range --from c --to a
out "del-range --to ''" "0" "$rdb" del-range --to ""
out "del-range left the table alone" "$(printf 'ab\tx')" "$rdb" scan -t tab
out "del-range -x --from" "1" "$rdb" del-range -x --from 63
out "del-range -t" "1" "$rdb" del-range -t tab --from ""
out "del-range result" "$(printf 'a\tva')" "$rdb" scan
out "del-range of a table" "$(printf 'tab\t0')" "$rdb" tables
err "del-range missing table" 1 "^digby: table 'nosuch': not found$" "$rdb" del-range -t nosuch --from a
ok  "del-range check" "$rdb" check

# ---------------------------------------------------------------------------
# stat and check
ok  "stat" "$tdb" stat
for f in page_size depth file_bytes page_count meta_pages branch_pages \
         leaf_pages overflow_pages freelist_pages free_pages entries tables \
         table_entries last_txid; do
    grep -Eq "^$f +[0-9]+$" "$d/out" && pass || bad "stat: no line for $f"
done
[ "$(wc -l <"$d/out" | tr -d ' ')" = 15 ] && pass || bad "stat: want 15 lines"
st() { awk -v f="$1" '$1 == f { print $2 }' "$d/out"; }
[ "$(st entries)" = 1 ] && [ "$(st tables)" = 2 ] && [ "$(st table_entries)" = 2 ] &&
    [ "$(st meta_pages)" = 2 ] && [ "$(st page_size)" = 4096 ] && pass ||
    bad "stat values: $(tr '\n' ' ' <"$d/out")"
ok  "check" "$tdb" check
grep -Eq '^ok: [0-9]+ pages checked$' "$d/out" && pass || bad "check output: $(cat "$d/out")"

# A file whose newest commit does not verify (the fuzz corpus's crafted
# freelist page that names itself as next page, sealed): open sets that
# commit aside, check passes on the commit before and says so.
seed=$(dirname "$0")/torture/corpus/open/seed-crafted-freelist-self-ro
if [ -f "$seed" ]; then
    tail -c +2 "$seed" >"$d/setaside.db"
    ok  "check of a file whose newest commit is set aside" "$d/setaside.db" check
    grep -Eq '^ok: [0-9]+ pages checked$' "$d/out" &&
        grep -q '^note: the newest commit (txid 3) did not verify at open' "$d/out" && pass ||
        bad "check of a set-aside commit: $(cat "$d/out")"
    ok  "check, file untouched" "$tdb" check
    [ "$(wc -l <"$d/out" | tr -d ' ')" = 1 ] && pass || bad "check of a sound file: a note: $(cat "$d/out")"
else
    bad "no $seed"
fi

# A damaged file: every page after the first two overwritten.  (Damage
# confined to the pages of the last commit is indistinguishable from a torn
# commit: open then falls back to the commit before.  Two commits make sure
# the damage reaches a commit that is not the last.)
cdb=$d/corrupt.db
awk 'BEGIN { print "VERSION=3"; print "format=print"; print "type=btree"; print "HEADER=END"
             for (i = 0; i < 3000; i++) { printf " key%06d\n value number %d\n", i, i }
             print "DATA=END" }' >"$d/3000.txt"
ok  "load for corruption test" "$cdb" load -f "$d/3000.txt"
ok  "a second commit" "$cdb" put extra record
ok  "check before damage" "$cdb" check
size=$(wc -c <"$cdb" | tr -d ' ')
pages=$((size / 4096 - 2))
if [ "$pages" -gt 0 ]; then
    dd if=/dev/zero bs=4096 count="$pages" 2>/dev/null | tr '\000' 'Z' >"$d/junk"
    dd if="$d/junk" of="$cdb" bs=4096 seek=2 conv=notrunc 2>/dev/null
    err "check of a damaged file" 1 "corrupt" "$cdb" check
    err "get on a damaged file" 1 "corrupt" "$cdb" get key001234
else
    bad "corruption test: file of $size bytes is too small"
fi

# ---------------------------------------------------------------------------
# dump / load
# A dump exactly as digby writes it: keys in byte order, lowercase hex,
# the global tree first, then the tables in name order.
allbytes=$(awk 'BEGIN { for (i = 0; i < 256; i++) printf "%02x", i }')
bigval=$(awk 'BEGIN { for (i = 0; i < 4375; i++) printf "00112233445566778899aabbccddeeff" }')
{
    printf 'VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n'
    printf ' 00\n 00ff\n'
    printf ' 0001\n \n'
    printf ' 0a\n %s\n' "$(hex 'newline key')"
    printf ' 5c\n 5c5c5c\n'
    printf ' 61\n %s\n' "$allbytes"
    printf ' %s\n %s\n' "$(hex big)" "$bigval"
    printf ' %s\n %s\n' "$(hex key)" "$(hex 'value with spaces and \ backslash')"
    printf ' ff\n ff\n'
    printf 'DATA=END\n'
    printf 'VERSION=3\nformat=bytevalue\ndatabase=by/slash\ntype=btree\nHEADER=END\n'
    printf ' 78\n 79\nDATA=END\n'
    printf 'VERSION=3\nformat=bytevalue\ndatabase=t one\ntype=btree\nHEADER=END\n'
    printf ' 01\n 02\n 6b\n 76\nDATA=END\n'
    printf 'VERSION=3\nformat=bytevalue\ndatabase=zz\ntype=btree\nHEADER=END\n'
    printf 'DATA=END\n'
} >"$d/src.txt"
rdb=$d/rt.db
ok  "load" "$rdb" load -f "$d/src.txt"
out "load made the tables" "$(printf 'by/slash\t1\nt one\t2\nzz\t0')" "$rdb" tables
ok  "dump -a" "$rdb" dump -a
cp "$d/out" "$d/d1.txt"
same "dump -a reproduces the loaded file" "$d/src.txt" "$d/d1.txt"
ok  "load the dump" "$d/rt2.db" load -f "$d/d1.txt"
ok  "dump -a again" "$d/rt2.db" dump -a
same "dump -> load -> dump is byte-identical" "$d/d1.txt" "$d/out"
ok  "dump -a -p" "$rdb" dump -a -p
cp "$d/out" "$d/p1.txt"
grep -q '^format=print$' "$d/p1.txt" && pass || bad "dump -p: no format=print"
grep -qF ' value with spaces and \5c backslash' "$d/p1.txt" && pass || bad "dump -p: backslash not written as \\5c"
grep -qF ' newline key' "$d/p1.txt" && grep -qxF ' \0a' "$d/p1.txt" && pass || bad "dump -p: escapes"
ok  "load print format" "$d/rt3.db" load <"$d/p1.txt"
ok  "dump after print load" "$d/rt3.db" dump -a
same "print round trip gives the same bytes" "$d/d1.txt" "$d/out"
ok  "dump -a -p again" "$d/rt3.db" dump -a -p
same "print dump -> load -> dump is byte-identical" "$d/p1.txt" "$d/out"
ok  "dump -t" "$rdb" dump -t "t one"
cp "$d/out" "$d/t1.txt"
printf 'VERSION=3\nformat=bytevalue\ndatabase=t one\ntype=btree\nHEADER=END\n 01\n 02\n 6b\n 76\nDATA=END\n' >"$d/want"
same "dump -t writes one section with database=" "$d/want" "$d/t1.txt"
ok  "dump -f" "$rdb" dump -a -f "$d/f.txt"
[ -s "$d/out" ] && bad "dump -f wrote to stdout" || pass
same "dump -f equals stdout" "$d/d1.txt" "$d/f.txt"
err "dump -t missing table" 1 "^digby: table 'nosuch': not found$" "$rdb" dump -t nosuch
ok  "dump of the global tree" "$rdb" dump
cp "$d/out" "$d/g.txt"
grep -q '^database=' "$d/g.txt" && bad "dump without -t/-a wrote database=" || pass
[ "$(grep -c '^HEADER=END$' "$d/g.txt")" = 1 ] && pass || bad "dump without -a: want one section"
ok  "load -t puts a plain section into a table" "$d/rt5.db" load -t dest -f "$d/g.txt"
out "load -t made the table" "$(printf 'dest\t8')" "$d/rt5.db" tables
ok  "dump -t dest" "$d/rt5.db" dump -t dest
sed '/^database=/d' "$d/out" >"$d/g5.txt"
same "load -t keeps the data" "$d/g.txt" "$d/g5.txt"
ok  "load -t does not override database=" "$d/rt5.db" load -t dest -f "$d/t1.txt"
out "database= wins over -t" "$(printf 'dest\t8\nt one\t2')" "$d/rt5.db" tables
ndb=$d/rt6.db
ok  "load -N setup" "$ndb" put a old
ok  "load -N" "$ndb" load -N -f "$d/g.txt"
raw "load -N kept the existing value" "old" "$ndb" get a
ok  "load without -N" "$ndb" load -f "$d/g.txt"
ok  "load overwrote" "$ndb" get a
ok  "dump a after overwrite" "$ndb" dump
grep -qx " $allbytes" "$d/out" && pass || bad "load without -N did not overwrite"

# Header lines digby does not need are ignored; print escapes decode.
{
    printf 'VERSION=3\nformat=print\ntype=btree\nmapsize=1048576\nmaxreaders=126\n'
    printf 'db_pagesize=4096\nreversekey=1\nduplicates=0\nsomething=else\nHEADER=END\n'
    printf ' back\\\\slash\n a\\0ab\\7f\\FF\nDATA=END\n'
} >"$d/hdr.txt"
ok  "load ignores unneeded header lines" "$d/hdr.db" load -f "$d/hdr.txt"
out "print escapes decoded" "$(printf 'back\\\\slash\ta\\x0ab\\x7f\\xff')" "$d/hdr.db" scan

# Many records: commits in batches of 10000; no progress when not a tty.
awk 'BEGIN { print "VERSION=3"; print "format=print"; print "type=btree"; print "HEADER=END"
             for (i = 0; i < 25000; i++) { printf " k%06d\n v%06d\n", i, i }
             print "DATA=END" }' >"$d/25k.txt"
ok  "load 25000 records" "$d/25k.db" load -f "$d/25k.txt"
ok  "stat after 25000" "$d/25k.db" stat
[ "$(st entries)" = 25000 ] && pass || bad "25000 records loaded as $(st entries)"
ok  "check after 25000" "$d/25k.db" check
ok  "dump 25000" "$d/25k.db" dump -p
same "25000 records dump identically" "$d/25k.txt" "$d/out"
raw "last of 25000" "v024999" "$d/25k.db" get k024999

# Malformed input: exit 1, one line naming the line.
mal() { # DESC PATTERN TEXT
    printf '%s' "$3" >"$d/mal.txt"
    err "load rejects $1" 1 "$2" "$d/mal.db" load -f "$d/mal.txt"
}
H='VERSION=3
format=bytevalue
type=btree
HEADER=END
'
mal "a non-dump file"       "line 1: expected VERSION=3"     'hello
'
mal "VERSION=2"             "line 1: unsupported 'VERSION=2'" 'VERSION=2
'
mal "an unknown format"     "line 2: unsupported format 'foo'" 'VERSION=3
format=foo
'
mal "type=hash"             "line 3: unsupported type 'hash'" 'VERSION=3
format=bytevalue
type=hash
'
mal "duplicates=1"          "line 3: .*duplicates.*not supported" 'VERSION=3
format=bytevalue
duplicates=1
HEADER=END
DATA=END
'
mal "a header line without ="  "line 2: expected a header line" 'VERSION=3
format
'
mal "an empty database name" "line 2: table name must be"  'VERSION=3
database=
'
mal "odd hex"               "line 5: bad hex data: invalid argument$" "$H 616
 00
DATA=END
"
mal "non-hex digits"        "line 6: bad hex data"          "$H 61
 zz
DATA=END
"
mal "a key without value"   "line 6: key without a value"   "$H 61
DATA=END
"
mal "a data line without the space" "line 5: expected a data line" "${H}61
"
mal "a bad print escape"    "line 5: bad escape"            'VERSION=3
format=print
type=btree
HEADER=END
 a\zz
 b
DATA=END
'
mal "a truncated print escape" "line 6: bad escape"         'VERSION=3
format=print
type=btree
HEADER=END
 a
 b\4
DATA=END
'
mal "a missing DATA=END"    "line 7: unexpected end of input \(no DATA=END\)" "$H 61
 62
"
mal "a missing HEADER=END"  "line 3: unexpected end of input \(no HEADER=END\)" 'VERSION=3
format=bytevalue
'
mal "junk after a section"  "line 8: expected VERSION=3"    "$H 61
 62
DATA=END
junk
"
mal "empty input"           "empty input"                   ''
printf '%s' "$H $(hex "${k990}k")
 76
DATA=END
" >"$d/large.txt"
ok  "load takes a large key" "$d/mal.db" load -f "$d/large.txt"
raw "get the loaded large key" "v" "$d/mal.db" get "${k990}k"
err "load from a missing file" 1 "^digby: load: open '.*nosuch.txt' \(.*\): I/O error$" "$d/mal.db" load -f "$d/nosuch.txt"
# A long path is named whole (CI's checkout path once cut it short).
deep=$d/a-directory-name-long-enough/to-pass-the-key-limit-of-error-messages
mkdir -p "$deep"
err "a long path is named whole" 1 "^digby: load: open '$deep/nosuch.txt' \(.*\): I/O error$" "$d/mal.db" load -f "$deep/nosuch.txt"
err "a long database path is named whole" 1 "^digby: open '$deep/no-dir/x.db': " "$deep/no-dir/x.db" get k

# ---------------------------------------------------------------------------
# LMDB interop
if command -v mdb_load >/dev/null 2>&1 && command -v mdb_dump >/dev/null 2>&1; then
    lm=$d/lmdb
    mkdir "$lm"
    # mdb_dump adds header lines digby does not write.
    nohdr() { grep -v -e '^mapsize=' -e '^maxreaders=' -e '^db_pagesize=' "$1"; }
    mdbok() { # DESC COMMAND...
        _desc=$1
        shift
        if "$@" >"$d/mout" 2>"$d/merr"; then pass; else bad "$_desc: $(cat "$d/merr")"; fi
    }

    # digby -> LMDB, global tree (bytevalue)
    mkdir "$lm/g"
    ok    "interop: digby dump" "$rdb" dump
    mdbok "interop: mdb_load of a digby dump" mdb_load -f "$d/out" "$lm/g"
    mdbok "interop: mdb_dump" mdb_dump "$lm/g"
    nohdr "$d/mout" >"$d/m1.txt"
    same "interop: digby dump -> mdb_load -> mdb_dump is identical" "$d/g.txt" "$d/m1.txt"

    # digby -> LMDB, every table (named sub-databases)
    mkdir "$lm/a"
    mdbok "interop: mdb_load of digby dump -a" mdb_load -f "$d/d1.txt" "$lm/a"
    mdbok "interop: mdb_dump -l" mdb_dump -l "$lm/a"
    printf 'by/slash\nt one\nzz\n' >"$d/want"
    same "interop: LMDB has digby's tables" "$d/want" "$d/mout"
    for t in "by/slash" "t one" zz; do
        mdbok "interop: mdb_dump -s '$t'" mdb_dump -s "$t" "$lm/a"
        nohdr "$d/mout" >"$d/m2.txt"
        ok "interop: digby dump -t '$t'" "$rdb" dump -t "$t"
        same "interop: table '$t' identical in LMDB" "$d/out" "$d/m2.txt"
    done

    # digby -> LMDB, print format (backslashes, \HH escapes)
    mkdir "$lm/p"
    mdbok "interop: mdb_load of digby dump -a -p" mdb_load -f "$d/p1.txt" "$lm/p"
    mdbok "interop: mdb_dump of print-loaded env" mdb_dump "$lm/p"
    grep -qx " $(hex 'value with spaces and \ backslash')" "$d/mout" && grep -qx " $allbytes" "$d/mout" &&
        pass || bad "interop: digby print format misread by mdb_load"
    mdbok "interop: mdb_dump -s 't one' of print-loaded env" mdb_dump -s "t one" "$lm/p"
    nohdr "$d/mout" >"$d/m3.txt"
    same "interop: print-loaded table identical" "$d/t1.txt" "$d/m3.txt"

    # LMDB -> digby: a main database with binary keys
    mdbok "interop: mdb_dump for digby load" mdb_dump "$lm/g"
    ok    "interop: digby load of mdb_dump" "$d/fromlm.db" load -f "$d/mout"
    ok    "interop: digby dump of it" "$d/fromlm.db" dump
    same "interop: mdb_dump -> digby load -> dump is identical" "$d/g.txt" "$d/out"

    # LMDB -> digby: named sub-databases made by mdb_load -s, read by mdb_dump -a
    mkdir "$lm/s"
    printf 'VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n 00ff\n 01\n 6b6579\n 76616c\nDATA=END\n' >"$d/sub.txt"
    mdbok "interop: mdb_load -s one" mdb_load -s one -f "$d/sub.txt" "$lm/s"
    mdbok "interop: mdb_load -s two" mdb_load -s two -f "$d/sub.txt" "$lm/s"
    mdbok "interop: mdb_dump -a" mdb_dump -a "$lm/s"
    ok    "interop: digby load of mdb_dump -a" "$d/fromsub.db" load -f "$d/mout"
    out   "interop: sub-databases became tables" "$(printf 'one\t2\ntwo\t2')" "$d/fromsub.db" tables
    out   "interop: global tree untouched" "" "$d/fromsub.db" scan
    ok    "interop: digby dump -t two" "$d/fromsub.db" dump -t two
    sed '/^database=/d' "$d/out" >"$d/sub2.txt"
    same "interop: sub-database data identical" "$d/sub.txt" "$d/sub2.txt"
    mdbok "interop: mdb_dump -s one" mdb_dump -s one "$lm/s"
    ok    "interop: digby load -t of mdb_dump -s" "$d/froms.db" load -f "$d/mout"
    out   "interop: mdb_dump -s section went to its table" "$(printf 'one\t2')" "$d/froms.db" tables

    # LMDB -> digby, print format (mdb_dump -p).  No backslashes: LMDB
    # 0.9.24's mdb_dump -p writes a backslash unescaped, which no loader can
    # read back (mdb_load neither).
    mkdir "$lm/q"
    printf 'VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n 00\n 0a0d09\n 6120622063\n ff7e20\nDATA=END\n' >"$d/q.txt"
    mdbok "interop: mdb_load for -p" mdb_load -f "$d/q.txt" "$lm/q"
    mdbok "interop: mdb_dump -p" mdb_dump -p "$lm/q"
    ok    "interop: digby load of mdb_dump -p" "$d/fromp.db" load -f "$d/mout"
    ok    "interop: digby dump of it" "$d/fromp.db" dump
    same "interop: mdb_dump -p -> digby load keeps the bytes" "$d/q.txt" "$d/out"
else
    echo "cli_test: mdb_load/mdb_dump not found (Debian: lmdb-utils); LMDB interop skipped" >&2
fi

# ---------------------------------------------------------------------------
# Record tables: create, index, insert, schema, rows (with the plan on stderr)
rdb=$d/rec.db
rm -f "$rdb"
spec='name string not null, ver string, section text, size int, maint string, primary key (name)'
ok "create"                 "$rdb" create pk "$spec"
ok "create again, same schema" "$rdb" create pk "$spec"
err "create, another schema" 1 "create 'pk': schema differs" "$rdb" create pk 'name string, primary key (name)'
err "create, bad type"      2 "create: column x: unknown type" "$rdb" create q 'x frob, primary key (x)'
err "create, no key"        2 "create: no primary key"   "$rdb" create q 'x int'
err "create, bad key"       2 "create: primary key: unknown column" "$rdb" create q 'x int, primary key (y)'
ok "index"                  "$rdb" index pk by_section 'section, size'
ok "unique index"           "$rdb" index -u pk by_maint maint
err "index, unknown column" 1 "index 'x'.*invalid argument" "$rdb" index pk x nope
err "index, no table"       1 "table 'nope'.*not found" "$rdb" index nope x size
printf 'bash\t5.2\tshells\t7000\tMatthias\ndash\t0.5\tshells\t200\t\\N\nvim\t9.0\teditors\t3000\tJames\n' >"$d/rows.tsv"
ok "insert"                 "$rdb" insert pk -f "$d/rows.tsv"
err "insert, present key"   1 "insert: line 1: already exists" "$rdb" insert pk -f "$d/rows.tsv"
printf 'zsh\t5\tshells\t9000\tJames\n' >"$d/clash.tsv"
err "insert, unique clash"  1 "line 1: unique constraint violated: unique index by_maint.*primary key vim" "$rdb" insert pk -f "$d/clash.tsv"
printf 'zsh\t5\tshells\tlots\tPaul\n' >"$d/bad.tsv"
err "insert, bad integer"   1 "line 1, column size: not an integer" "$rdb" insert pk -f "$d/bad.tsv"
printf 'zsh\t5\tshells\n' >"$d/short.tsv"
err "insert, too few fields" 1 "line 1: 3 fields for 5 columns" "$rdb" insert pk -f "$d/short.tsv"
err "insert, unique index built over a clash" 1 "index 'by_sec': unique constraint violated" "$rdb" index -u pk by_sec section
printf 'vim\t9.1\teditors\t3100\tBram\n' >"$d/upd.tsv"
ok "insert -u replaces"     "$rdb" insert -u pk -f "$d/upd.tsv"
out "schema" "CREATE TABLE pk (name string NOT NULL, ver string, section string, size int, maint string, PRIMARY KEY (name));
CREATE INDEX by_section ON pk (section, size);
CREATE UNIQUE INDEX by_maint ON pk (maint);" "$rdb" schema
# rows: TSV on stdout, the plan on stderr
rows_is() {
    _desc=$1; _want=$2; _plan=$3
    shift 3
    dg "$@"
    printf '%s\n' "$_want" >"$d/want"
    if [ "$rc" -eq 0 ] && cmp -s "$d/want" "$d/out" && [ "$(cat "$d/err")" = "plan: $_plan" ]; then
        pass
    else
        bad "$_desc: exit $rc, stdout: $(cat "$d/out"), stderr: $(cat "$d/err")"
    fi
}
rows_is "rows" "bash	5.2	shells	7000	Matthias
dash	0.5	shells	200	\\N
vim	9.1	editors	3100	Bram" "SCAN pk" "$rdb" rows pk
rows_is "rows -H -n 1" "name	ver	section	size	maint
bash	5.2	shells	7000	Matthias" "SCAN pk" "$rdb" rows -H -n 1 pk
rows_is "rows --where, -r" "bash	5.2	shells	7000	Matthias
dash	0.5	shells	200	\\N" "SEARCH pk USING INDEX by_section (section=?)" "$rdb" rows --where 'section = "shells"' -r pk
rows_is "rows, a range" "vim	9.1	editors	3100	Bram" "SEARCH pk USING INDEX by_section (section=? AND size>=?)" "$rdb" rows --where "section = 'editors'" --where 'size >= 3000' pk
rows_is "rows --json" '{"name":"dash","ver":"0.5","section":"shells","size":200,"maint":null}' "SCAN pk; filter: 1 condition" "$rdb" rows --where 'size < 1000' --json pk
rows_is "rows --index" "bash	5.2	shells	7000	Matthias
vim	9.1	editors	3100	Bram
dash	0.5	shells	200	\\N" "SCAN pk USING INDEX by_maint" "$rdb" rows -r --index by_maint pk
err "rows, bad column"      2 "rows: --where 'nope = 1': no column nope" "$rdb" rows --where 'nope = 1' pk
err "rows, bad op"          2 "expected = < <= > or >=" "$rdb" rows --where 'size ! 1' pk
err "rows, NULL"            2 "NULL is no value" "$rdb" rows --where 'size = \N' pk
err "rows, no index"        1 "rows: not found: no index nope" "$rdb" rows --index nope pk
err "rows, no table"        1 "rows: table 'nope'.*not found" "$rdb" rows nope
out "rows, no record tables" "" "$db" schema
ok "record tables check"    "$rdb" check
out "record tables' tables" "digby:schema	1
pk	3
pk.by_maint	3
pk.by_section	3" "$rdb" tables

# ---------------------------------------------------------------------------
# Encryption and compression come from the environment, never the command line.
head -c 32 /dev/urandom >"$d/key32"
printf 'short' >"$d/key5"
rm -f "$d/enc.db"
DIGBY_KEY_FILE="$d/key32" DIGBY_COMPRESS=lz4 ok "encrypted put" "$d/enc.db" put secret-key "top secret value"
DIGBY_KEY_FILE="$d/key32" dg "$d/enc.db" get secret-key
if [ "$rc" -eq 0 ] && [ "$(cat "$d/out")" = "top secret value" ]; then pass; else bad "encrypted get: exit $rc, got $(cat "$d/out")"; fi
if grep -q "top secret value" "$d/enc.db"; then bad "plaintext found in the encrypted file"; else pass; fi
dg "$d/enc.db" get secret-key
if [ "$rc" -ne 0 ] && grep -q "wrong encryption key" "$d/err"; then pass; else bad "no key: exit $rc, $(cat "$d/err")"; fi
DIGBY_KEY_FILE="$d/key5" dg "$d/enc.db" get secret-key
if [ "$rc" -ne 0 ] && [ "$(wc -l <"$d/err")" -eq 1 ]; then pass; else bad "5-byte key file: exit $rc"; fi
DIGBY_COMPRESS=zstd dg "$d/other.db" put k v
if [ "$rc" -ne 0 ]; then pass; else bad "DIGBY_COMPRESS=zstd accepted"; fi
DIGBY_KEY_FILE="$d/key32" ok "encrypted check" "$d/enc.db" check

# ---------------------------------------------------------------------------
# backup: plain and compacted copies hold the same dump; OUT is never
# overwritten without --replace; an encrypted file's copy needs its key.
rm -f "$d/bk1.db" "$d/bk2.db"
ok  "backup" "$tdb" backup "$d/bk1.db"
ok  "backup --compact" "$tdb" backup --compact "$d/bk2.db"
ok  "dump -a of the source" "$tdb" dump -a
cp "$d/out" "$d/bk_want"
for f in bk1 bk2; do
    ok "check of backup $f" "$d/$f.db" check
    ok "dump -a of backup $f" "$d/$f.db" dump -a
    cmp -s "$d/bk_want" "$d/out" && pass || bad "backup $f: dump -a differs from the source's"
done
[ ! -e "$d/bk1.db.digby-tmp" ] && pass || bad "backup left its temporary file"
err "backup onto an existing file" 1 "already exists" "$tdb" backup "$d/bk1.db"
ok  "backup --replace" "$tdb" backup --replace --compact "$d/bk1.db"
err "backup without OUT" 2 "missing arguments" "$tdb" backup
err "backup of a missing file" 1 "" "$d/nonesuch.db" backup "$d/bk3.db"
[ ! -e "$d/bk3.db" ] && pass || bad "backup of a missing file wrote OUT"
rm -f "$d/enc-bk.db"
DIGBY_KEY_FILE="$d/key32" ok "encrypted backup" "$d/enc.db" backup "$d/enc-bk.db"
DIGBY_KEY_FILE="$d/key32" dg "$d/enc-bk.db" get secret-key
if [ "$rc" -eq 0 ] && [ "$(cat "$d/out")" = "top secret value" ]; then pass; else bad "encrypted backup get: exit $rc, got $(cat "$d/out")"; fi
if grep -q "top secret value" "$d/enc-bk.db"; then bad "plaintext found in the encrypted backup"; else pass; fi
dg "$d/enc-bk.db" get secret-key
if [ "$rc" -ne 0 ] && grep -q "wrong encryption key" "$d/err"; then pass; else bad "encrypted backup without a key: exit $rc, $(cat "$d/err")"; fi

# ---------------------------------------------------------------------------
# compact: most keys deleted, the file shrinks in place and keeps the rest;
# prints the size before and after; --truncate-only; a read-only file.
kdb=$d/compact.db
rm -f "$kdb"
awk 'BEGIN { print "VERSION=3"; print "format=print"; print "type=btree"; print "HEADER=END"
             for (i = 0; i < 6000; i++) { printf " key%06d\n value number %d of the compaction test\n", i, i }
             print "DATA=END" }' >"$d/6000.txt"
ok  "load for compact" "$kdb" load -f "$d/6000.txt"
out "del-range for compact" "5000" "$kdb" del-range --from key000500 --to key005500
ok  "dump before compact" "$kdb" dump
cp "$d/out" "$d/compact_want"
before=$(wc -c <"$kdb" | tr -d ' ')
ok  "compact" "$kdb" compact
after=$(wc -c <"$kdb" | tr -d ' ')
[ "$(cat "$d/out")" = "$(printf '%s\t%s' "$before" "$after")" ] && pass ||
    bad "compact printed '$(cat "$d/out")', want '$before<TAB>$after'"
[ "$after" -lt $((before / 2)) ] && pass || bad "compact: $before -> $after bytes"
ok  "check after compact" "$kdb" check
ok  "dump after compact" "$kdb" dump
cmp -s "$d/compact_want" "$d/out" && pass || bad "compact: dump differs"
ok  "compact --truncate-only" "$kdb" compact --truncate-only
err "compact with an argument" 2 "compact: too many arguments" "$kdb" compact x
err "compact of a missing file" 1 "cannot open" "$d/nonesuch.db" compact
DIGBY_KEY_FILE="$d/key32" ok "encrypted compact" "$d/enc.db" compact
DIGBY_KEY_FILE="$d/key32" dg "$d/enc.db" get secret-key
if [ "$rc" -eq 0 ] && [ "$(cat "$d/out")" = "top secret value" ]; then pass; else bad "encrypted get after compact: exit $rc, got $(cat "$d/out")"; fi
DIGBY_KEY_FILE="$d/key32" ok "encrypted check after compact" "$d/enc.db" check

# ---------------------------------------------------------------------------
# The man page describes every command and option of the usage text: each
# has an item of its own (a .TP tag naming it), so the two cannot drift.
man=$(dirname "$0")/../tools/digby.1
if [ -f "$man" ]; then
    # The tags, with roff's \- as - and font escapes (\fB, \fI, ...) gone.
    sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$man" |
        awk 'prev == ".TP" { print } { prev = $0 }' >"$d/man_tags"
    "$bin" --help >"$d/usage"
    cmds=$(sed -n '/^commands:/,/^$/s/^  \([a-z][a-z]*\) .*/\1/p' "$d/usage")
    opts=$(tr -s ' []|(),;:\t' '\n\n\n\n\n\n\n\n\n' <"$d/usage" |
        grep -E '^(--?[A-Za-z][A-Za-z0-9-]*|--)$' | sort -u)
    if [ "$(echo "$cmds" | wc -w)" -lt 9 ] || [ -z "$opts" ]; then
        bad "man page check: read only '$cmds' / '$opts' from digby --help"
    fi
    for w in $cmds $opts; do
        # The tag starts with it (.B put ..., .BI -t " TABLE"), or lists it
        # after a comma (.BR --help ", " -h).
        if grep -q -E -e "^\.[BIR]*[ ]+\"?$w([^A-Za-z0-9-]|\$)" \
                      -e "\", \" $w([^A-Za-z0-9-]|\$)" "$d/man_tags"; then
            pass
        else
            bad "man page: no item for '$w' (of digby --help) in tools/digby.1"
        fi
    done
else
    bad "man page: $man not found"
fi

# ---------------------------------------------------------------------------
if [ "$failures" -ne 0 ]; then
    echo "cli_test: $failures of $tests checks FAILED" >&2
    exit 1
fi
echo "cli_test: all $tests checks passed"
exit 0

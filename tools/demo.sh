#!/bin/sh
# demo.sh -- digby's main job on real input: the dpkg status database.
#
#   sh tools/demo.sh build/digby        (what `make demo` runs)
#
# Parses /var/lib/dpkg/status (or $DPKG_STATUS) with awk into the
# mdb_dump text format (format=print), loads it into a fresh
# build/demo.digby, then shows the tool's read commands on it:
#   global tree   key: package name    value: the whole status record
#   by-section    key: SECTION/PACKAGE value: the version
# and, from the same data, a record table (the record layer, issue #12):
#   packages      name (key), version, section, priority, installed_size
#                 (an integer, KiB), maintainer; indexes by_section
#                 (section, installed_size) and by_maintainer (maintainer)
# Only installed packages are loaded.  A name installed for several
# architectures (Multi-Arch: same) is keyed NAME:ARCH for each of them.
# Works on any Debian or Ubuntu machine; POSIX sh and awk only.

set -eu

bin=${1:?usage: sh tools/demo.sh PATH-TO-DIGBY-BINARY}
status=${DPKG_STATUS:-/var/lib/dpkg/status}
case $bin in
/*) ;;
*) bin=$(pwd)/$bin ;;
esac
[ -x "$bin" ] || { echo "demo.sh: $bin is not an executable" >&2; exit 1; }
[ -r "$status" ] || { echo "demo.sh: cannot read $status" >&2; exit 1; }

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mkdir -p build
db=build/demo.digby
dumpfile=build/demo.dump
rowsfile=build/demo.rows.tsv
rm -f "$db" "$dumpfile" "$rowsfile"

# dpkg status -> two dump sections (global tree, then by-section).
dpkg_to_dump() {
    LC_ALL=C awk -v rows="$2" '
    function esc(s,    out, c) {
        # print format: printable ASCII as is, \ as \\, other bytes \HH
        out = ""
        while (match(s, /[^ -~]|\\/)) {
            c = substr(s, RSTART, 1)
            out = out substr(s, 1, RSTART - 1)
            if (c == "\\")
                out = out "\\\\"
            else
                out = out sprintf("\\%02x", ord[c])
            s = substr(s, RSTART + 1)
        }
        return out s
    }
    function flush() {
        if (rec != "" && pkg != "" && status ~ / installed$/) {
            n++
            P[n] = pkg; A[n] = arch; V[n] = ver; R[n] = rec
            S[n] = (sec == "" ? "unknown" : sec)
            PR[n] = prio; IS[n] = isz; M[n] = maint
            seen[pkg]++
        }
        rec = ""; pkg = ""; arch = ""; ver = ""; sec = ""; status = ""
        prio = ""; isz = ""; maint = ""
    }
    function tsv(s) {
        if (s == "") return "\\N"
        gsub(/\\/, "\\\\", s)
        gsub(/\t/, "\\x09", s)
        return s
    }
    BEGIN { for (i = 1; i < 256; i++) ord[sprintf("%c", i)] = i; n = 0 }
    /^$/ { flush(); next }
    {
        rec = rec $0 "\n"
        if ($0 ~ /^Package:/)       { pkg = $2 }
        else if ($0 ~ /^Architecture:/) { arch = $2 }
        else if ($0 ~ /^Version:/)  { ver = $2 }
        else if ($0 ~ /^Section:/)  { sec = $2 }
        else if ($0 ~ /^Status:/)   { status = $0 }
        else if ($0 ~ /^Priority:/) { prio = $2 }
        else if ($0 ~ /^Installed-Size:/) { isz = $2 }
        else if ($0 ~ /^Maintainer:/) { maint = substr($0, 13) }
    }
    END {
        flush()
        print "VERSION=3"; print "format=print"; print "type=btree"
        print "HEADER=END"
        for (i = 1; i <= n; i++) {
            K[i] = (seen[P[i]] > 1 ? P[i] ":" A[i] : P[i])
            print " " esc(K[i]); print " " esc(R[i])
        }
        print "DATA=END"
        print "VERSION=3"; print "format=print"
        print "database=by-section"; print "type=btree"
        print "HEADER=END"
        for (i = 1; i <= n; i++) {
            print " " esc(S[i] "/" K[i]); print " " esc(V[i])
        }
        print "DATA=END"
        # rows of the record table: TSV, \N for NULL, \\ for a backslash
        for (i = 1; i <= n; i++) {
            printf "%s\t%s\t%s\t%s\t%s\t%s\n", tsv(K[i]), tsv(V[i]), tsv(S[i]),
                tsv(PR[i]), (IS[i] ~ /^[0-9]+$/ ? IS[i] : "\\N"), tsv(M[i]) > rows
        }
        printf "%d installed packages\n", n > "/dev/stderr"
    }' "$1"
}

say() {
    printf '\n$ %s\n' "$*"
}

run() {
    line=digby
    for arg in "$@"; do
        case $arg in
        *[\ \"\<\>]*) line="$line '$arg'" ;;
        *) line="$line $arg" ;;
        esac
    done
    say "$line"
    "$bin" "$@"
}

echo "digby demo: $("$bin" --version), input $status"

say "dpkg_to_dump $status > $dumpfile    # awk, in this script (rows: $rowsfile)"
dpkg_to_dump "$status" "$rowsfile" > "$dumpfile"
say "head -8 $dumpfile | cut -c1-76"
head -8 "$dumpfile" | cut -c1-76

run "$db" load -f "$dumpfile"
run "$db" get bash
say "digby $db get -v dpkg | head -3"
"$bin" "$db" get -v dpkg | head -3
run "$db" scan -p lib -n 10
run "$db" scan -t by-section -p shells/
run "$db" scan -t by-section --from admin/d --to admin/e
run "$db" tables
run "$db" stat
run "$db" check
say "digby $db dump -t by-section -p | head -7"
"$bin" "$db" dump -t by-section -p | head -7

# The record layer: the same packages as rows of a table with a schema and
# two secondary indexes, kept by the library in every write.
say "# the record layer: a table with a schema, rows, two secondary indexes"
run "$db" create packages 'name string not null, version string, section string, priority string, installed_size int, maintainer string, primary key (name)'
run "$db" index packages by_section 'section, installed_size'
run "$db" index packages by_maintainer maintainer
say "head -3 $rowsfile"
head -3 "$rowsfile"
run "$db" insert packages -f "$rowsfile"
run "$db" schema
# the section with the most packages, and the maintainer of dpkg
section=$(cut -f3 "$rowsfile" | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 }')
maint=$(awk -F'\t' '$1 == "dpkg" { print $6 }' "$rowsfile")
say "# the largest packages of section $section, largest first (index by_section)"
run "$db" rows --where "section = \"$section\"" -r -n 5 packages
say "# the packages of one maintainer, as JSON lines (index by_maintainer)"
run "$db" rows --where "maintainer = \"$maint\"" --json packages
say "# a range of names (the primary key), and a condition no index serves"
run "$db" rows --where 'name >= "libc"' --where 'name < "libd"' -n 3 packages
run "$db" rows --where 'installed_size > 100000' -H packages
run "$db" tables
run "$db" check

# The same data once more, encrypted (AES-256-GCM under a random key kept in
# a file: keys never go on the command line) and with lz4 on: the records
# over a leaf's size are compressed.
edb="${db%.digby}-aes-lz4.digby"
keyfile="${db%.digby}.key"
rm -f "$edb" "$keyfile"
head -c 32 /dev/urandom > "$keyfile"
say "DIGBY_KEY_FILE=$keyfile DIGBY_COMPRESS=lz4 digby $edb load -f $dumpfile"
DIGBY_KEY_FILE="$keyfile" DIGBY_COMPRESS=lz4 "$bin" "$edb" load -f "$dumpfile"
say "DIGBY_KEY_FILE=$keyfile digby $edb get bash | head -3"
DIGBY_KEY_FILE="$keyfile" "$bin" "$edb" get bash | head -3
say "DIGBY_KEY_FILE=$keyfile digby $edb stat | grep -E 'file_bytes|overflow_pages'"
DIGBY_KEY_FILE="$keyfile" "$bin" "$edb" stat | grep -E 'file_bytes|overflow_pages'
say "DIGBY_KEY_FILE=$keyfile digby $edb check"
DIGBY_KEY_FILE="$keyfile" "$bin" "$edb" check
say "grep -c 'Package: bash' $edb    # the plaintext is nowhere in the file"
grep -c 'Package: bash' "$edb" || true
say "digby $edb get bash    # without the key"
"$bin" "$edb" get bash || true

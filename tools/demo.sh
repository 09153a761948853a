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
rm -f "$db" "$dumpfile"

# dpkg status -> two dump sections (global tree, then by-section).
dpkg_to_dump() {
    LC_ALL=C awk '
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
            seen[pkg]++
        }
        rec = ""; pkg = ""; arch = ""; ver = ""; sec = ""; status = ""
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
        printf "%d installed packages\n", n > "/dev/stderr"
    }' "$1"
}

say() {
    printf '\n$ %s\n' "$*"
}

run() {
    say "digby $*"
    "$bin" "$@"
}

echo "digby demo: $("$bin" --version), input $status"

say "dpkg_to_dump $status > $dumpfile    # awk, in this script"
dpkg_to_dump "$status" > "$dumpfile"
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

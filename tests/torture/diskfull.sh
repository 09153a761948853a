#!/bin/sh
# tests/torture/diskfull.sh BINARY DIR FIGFILE [ARGS...]
# Runs BINARY DIR [ARGS...] -o FIGFILE on a 4 MiB tmpfs mounted at DIR:
# in a user and mount namespace of its own (unprivileged), else directly as
# root (unmounted afterwards), else prints SKIPPED and writes a SKIPPED row.
bin=$1; dir=$2; fig=$3; shift 3
mkdir -p "$dir" || exit 2
if unshare --user --map-root-user --mount sh -c 'mount -t tmpfs -o size=4m tmpfs "$1" && umount "$1"' sh "$dir" 2>/dev/null; then
    echo "diskfull: 4 MiB tmpfs in a user+mount namespace (unshare) at $dir"
    exec unshare --user --map-root-user --mount sh -c \
        'mount -t tmpfs -o size=4m tmpfs "$1" || exit 2; d=$1; b=$2; f=$3; shift 3; exec "$b" "$d" -o "$f" "$@"' \
        sh "$dir" "$bin" "$fig" "$@"
fi
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=4m tmpfs "$dir" 2>/dev/null; then
    echo "diskfull: 4 MiB tmpfs mounted as root at $dir"
    "$bin" "$dir" -o "$fig" "$@"; rc=$?
    umount "$dir" || rc=2
    exit $rc
fi
echo "==== diskfull: SKIPPED: cannot mount a tmpfs (no unprivileged user namespaces, not root)"
echo "| disk full (4 MiB tmpfs) | SKIPPED: no tmpfs mount possible here | | | | |" >> "$fig"
exit 0

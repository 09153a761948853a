#!/bin/sh
# tests/torture/faults_run.sh -- run fault sweeps (tests/torture/faults.c) in
# parallel lanes and collect their figure rows in job order.
#
#   faults_run.sh LANES TMPDIR OUT < jobs
#
# Each line of jobs is "BINARY ARGS..." (a line starting with # is skipped).
# Job i runs in lane i mod LANES, logs to TMPDIR/job-i.log and writes its
# row to TMPDIR/job-i.row; OUT gets the rows in job order.  Exit status 1
# if any job failed (its log's last lines are printed).
set -u
lanes=$1
tmp=$2
out=$3
mkdir -p "$tmp"
rm -f "$tmp"/job-* "$tmp"/lane-*
n=0
while IFS= read -r line; do
    case "$line" in ''|'#'*) continue ;; esac
    echo "$line" > "$tmp/job-$n.cmd"
    n=$((n + 1))
done
lane=0
while [ $lane -lt "$lanes" ]; do
    (
        i=$lane
        while [ $i -lt $n ]; do
            cmd=$(cat "$tmp/job-$i.cmd")
            start=$(date +%s)
            mkdir -p "$tmp/dir-$i"
            # shellcheck disable=SC2086
            if DIGBY_TEST_DIR="$tmp/dir-$i" $cmd -q -o "$tmp/job-$i.row" > "$tmp/job-$i.log" 2>&1; then
                echo "==== faults job $i ($(( $(date +%s) - start )) s): $cmd"
            else
                echo "==== FAILED faults job $i ($(( $(date +%s) - start )) s): $cmd"
                tail -30 "$tmp/job-$i.log"
                touch "$tmp/lane-failed"
            fi
            rm -rf "$tmp/dir-$i"
            i=$((i + lanes))
        done
    ) &
    lane=$((lane + 1))
done
wait
i=0
: > "$out.tmp"
while [ $i -lt $n ]; do
    if [ -f "$tmp/job-$i.row" ]; then cat "$tmp/job-$i.row" >> "$out.tmp"; fi
    i=$((i + 1))
done
cat "$out.tmp" >> "$out"
rm -f "$out.tmp"
if [ -f "$tmp/lane-failed" ]; then exit 1; fi
exit 0

#!/usr/bin/env python3
"""Run one libFuzzer target for a while and write its figure row.

usage: fuzz_run.py BINARY SEED_DIR WORK_DIR SECONDS LABEL FIGFILE [libFuzzer args...]

The corpus lives in WORK_DIR/corpus (seeded from SEED_DIR, kept between
runs so coverage accumulates); crashing inputs go to WORK_DIR/artifacts/.
Prints and appends to FIGFILE one markdown row: executions, CPU seconds,
corpus size, crashes.  Exits 1 when libFuzzer found a crash, a timeout
(hang) or an out-of-memory input, naming the artifact to replay.
"""
import os
import re
import resource
import shutil
import subprocess
import sys


def main():
    if len(sys.argv) < 7:
        print(__doc__, file=sys.stderr)
        return 2
    binary, seeds, work, seconds, label, figfile = sys.argv[1:7]
    extra = sys.argv[7:]
    corpus = os.path.join(work, "corpus")
    arts = os.path.join(work, "artifacts")
    os.makedirs(corpus, exist_ok=True)
    os.makedirs(arts, exist_ok=True)
    for name in sorted(os.listdir(seeds)):
        dst = os.path.join(corpus, name)
        if not os.path.exists(dst):
            shutil.copyfile(os.path.join(seeds, name), dst)
    before = set(os.listdir(arts))
    log = os.path.join(work, "fuzz.log")
    t0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cmd = [binary, corpus, "-max_total_time=" + seconds, "-print_final_stats=1",
           "-artifact_prefix=" + arts + "/"] + extra
    print("fuzz: " + " ".join(cmd), flush=True)
    with open(log, "w") as f:
        rc = subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT)
    t1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (t1.ru_utime - t0.ru_utime) + (t1.ru_stime - t0.ru_stime)
    text = open(log, errors="replace").read()
    m = re.findall(r"stat::number_of_executed_units:\s*(\d+)", text)
    execs = int(m[-1]) if m else 0
    if not m:
        m = re.findall(r"^#(\d+)\s", text, re.M)
        execs = int(m[-1]) if m else 0
    new = sorted(set(os.listdir(arts)) - before)
    units = len(os.listdir(corpus))
    row = ("| fuzz %s | %s executions | %.0f s CPU | %s corpus inputs | %d crashes/hangs |"
           % (label, format(execs, ","), cpu, format(units, ","), len(new)))
    print(row)
    with open(figfile, "a") as f:
        f.write(row + "\n")
    if rc != 0 or new:
        tail = text.splitlines()[-40:]
        print("\n".join(tail))
        for a in new:
            print("fuzz: FAILED: artifact %s (replay: %s %s)" % (a, binary, os.path.join(arts, a)))
        if not new:
            print("fuzz: FAILED: %s exited %d" % (binary, rc))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

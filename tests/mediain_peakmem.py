#!/usr/bin/env python3
"""Run a command and report the peak memory of its whole process tree.

usage: mediain_peakmem.py OUT.json COMMAND [ARGS...]

Samples every 200 ms the sum over the command and its descendants of
Pss (proportional set size, from /proc/PID/smaps_rollup: pages shared
copy-on-write between a parent and its forked workers are counted once)
and of RSS (shared pages counted in every process).  Writes
{"peak_pss_kb", "peak_rss_sum_kb", "rc", "seconds"} to OUT.json; the
command's stdout and stderr pass through.
"""
import json, os, subprocess, sys, time

def tree(root):
    kids = {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open(f'/proc/{d}/stat') as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out

def mem(pid):
    pss = rss = 0
    try:
        with open(f'/proc/{pid}/smaps_rollup') as f:
            for line in f:
                if line.startswith('Pss:'):
                    pss = int(line.split()[1])
                elif line.startswith('Rss:'):
                    rss = int(line.split()[1])
    except OSError:
        pass
    return pss, rss

out = sys.argv[1]
t0 = time.time()
p = subprocess.Popen(sys.argv[2:])
peak_pss = peak_rss = 0
while p.poll() is None:
    s = [mem(x) for x in tree(p.pid)]
    peak_pss = max(peak_pss, sum(a for a, _ in s))
    peak_rss = max(peak_rss, sum(b for _, b in s))
    time.sleep(0.2)
with open(out, 'w') as f:
    json.dump({"peak_pss_kb": peak_pss, "peak_rss_sum_kb": peak_rss,
               "rc": p.returncode, "seconds": round(time.time() - t0, 2)}, f)
sys.exit(p.returncode)

#!/usr/bin/env python3
"""Per-run ratios between two measurements of one head-to-head log.

bench/run --against pairs each measurement with the same one on the other
side. An extension has no counterpart in the original modules, so its cost
is measured against the original's nearest baseline in the same run:

    bench/cross_ratio.py LOG ours:bounded:ops_per_s ref:unbounded:ops_per_s
    bench/cross_ratio.py LOG ours:fdnotify:latency_median_us ref:blocked:latency_median_us

Prints the median, min and max over the runs of A / B, where run r of A is
paired with run r of B (LOG: a target/bench/run-*.log).
"""
import re
import statistics
import sys


def load(path):
    values, run, side = {}, None, None
    with open(path) as f:
        for line in f:
            m = re.match(r"# run (\d+) script \S+ side (\w+)", line)
            if m:
                run, side = int(m.group(1)), m.group(2)
                continue
            m = re.match(r"bench=(\w+) (ops=.*)", line)
            if m and run is not None:
                for kv in m.group(2).split():
                    k, _, v = kv.partition("=")
                    values[(run, side, m.group(1), k)] = v
    return values


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    values = load(sys.argv[1])
    a, b = (tuple(x.split(":")) for x in sys.argv[2:4])
    runs = sorted({r for r, *_ in values})
    ratios = [float(values[(r, *a)]) / float(values[(r, *b)])
              for r in runs if (r, *a) in values and (r, *b) in values]
    if not ratios:
        sys.exit(f"no run has both {sys.argv[2]} and {sys.argv[3]}")
    print(f"{sys.argv[2]} / {sys.argv[3]}: median {statistics.median(ratios):.3g} "
          f"min {min(ratios):.3g} max {max(ratios):.3g} ({len(ratios)} runs)")


main()

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
import sys

sys.dont_write_bytecode = True     # no bench/__pycache__ from the import below
import benchlog  # noqa: E402


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    values = benchlog.load(sys.argv[1])
    a, b = (tuple(x.split(":")) for x in sys.argv[2:4])
    ratios = benchlog.ratios(values, a, b)
    if not ratios:
        sys.exit(f"no run has both {sys.argv[2]} and {sys.argv[3]}")
    med, lo, hi = benchlog.summary(ratios)
    print(f"{sys.argv[2]} / {sys.argv[3]}: median {med:.3g} "
          f"min {lo:.3g} max {hi:.3g} ({len(ratios)} runs)")


main()

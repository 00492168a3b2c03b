#!/usr/bin/python3
"""Bar chart of a head-to-head log of bench/run: ours / original per measurement.

Needs matplotlib (the Agg backend, no display):
    apt-get install python3-matplotlib     (Debian, for /usr/bin/python3)
    pip install matplotlib                 (any other python3)
The shebang is /usr/bin/python3 (Debian's matplotlib); with another
interpreter: `python3 bench/chart.py ...`.

    bench/chart.py [LOG] [-o OUT.png]

LOG: a log of `bench/run --against DIR RUNS` (default target/bench/latest.log);
OUT: default bench/chart-<interpreter>.png (e.g. chart-lua5.4.png).

One bar per measurement, from 1.0 to the median of the per-run ratios
ours / original (run r of ours paired with run r of the original, as the
runner's summary does); the error bar spans their min-max. Two panels:
speed (ops/s, higher is better) and, on the right, resident memory (bytes)
and wake-up latency (lower is better). A measurement whose ops/s is paced by
its producer (it reports latency_median_us: blocked, fdnotify) is charted by
its median latency. floor and newstate_floor run the same C code on both
sides (controls: expect 1.0) and are grey. Measurements SKIPPED or FAILED on
either side are left out and listed on stderr; the figures charted are
printed on stdout.
"""
import argparse
import os
import re
import sys

sys.dont_write_bytecode = True     # no bench/__pycache__ from the import below
import benchlog  # noqa: E402

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
INSTALL = ("bench/chart.py needs matplotlib: apt-get install python3-matplotlib "
           "(Debian, then run with /usr/bin/python3) or pip install matplotlib")

SIDE = {"ours": "ours", "ref": "the original (ref)"}
BETTER, WORSE, CONTROL = "#2a9d8f", "#e76f51", "#a0a0a0"


def slug(interpreter):
    """chart-<slug>.png from '# interpreter: PATH (VERSION)'."""
    m = re.match(r"(\S+) \((.*)\)", interpreter)
    path, version = (m.group(1), m.group(2)) if m else (interpreter or "lua", "")
    name = os.path.basename(path)
    if not re.search(r"\d|jit", name):      # the vendored target/<v>/release/lua
        name = "vendored-" + re.sub(r"\s+", "", version.lower())
    return re.sub(r"[^\w.-]+", "_", name)


def failure(errs):
    """'FAILED in N run(s): MESSAGE (runs R,R); ...' of [(run, message)]."""
    runs = {}
    for run, msg in errs:
        # bash's report of a crash: "bench/run: line L: PID Segmentation fault env ..."
        msg = re.sub(r"bench/run: line \d+: +\d+ +(.*?) +env .*", r"\1", msg)
        runs.setdefault(msg, []).append(str(run))
    return f"FAILED in {len(errs)} run(s): " + "; ".join(
        f"{msg} (run{'s' if len(r) > 1 else ''} {','.join(r)})" for msg, r in runs.items())


def measurements(log):
    """(bars, left_out): bars are dicts (name, kind, key, ratios, ...)."""
    keys = {}
    for _, side, name, key in log.values:
        keys.setdefault((side, name), set()).add(key)
    bars, left_out = [], []
    for name in log.names:
        skipped = [f"{SIDE[s]} SKIPPED: {log.skipped[(s, name)]}" for s in SIDE if (s, name) in log.skipped]
        if skipped:
            left_out.append((name, "; ".join(skipped)))
            continue
        failed = []
        for side in SIDE:
            if not keys.get((side, name)):
                errs = log.failed.get((side, log.script_of.get(name)))
                why = failure(errs) if errs else "no result"
                failed.append(f"{SIDE[side]} {why}")
        if failed:
            left_out.append((name, "; ".join(failed)))
            continue
        k = keys[("ours", name)] | keys[("ref", name)]
        if "latency_median_us" in k:
            kind, key = "latency", "latency_median_us"
        elif "ops_per_s" not in k and "bytes" in k:
            kind, key = "memory", "bytes"
        else:
            kind, key = "speed", "ops_per_s"
        ratios = benchlog.ratios(log.values, ("ours", name, key), ("ref", name, key))
        if not ratios:
            left_out.append((name, f"no run with {key} on both sides"))
            continue
        med, lo, hi = benchlog.summary(ratios)
        bars.append(dict(name=name, kind=kind, key=key, n=len(ratios), med=med, lo=lo, hi=hi,
                         control=name == "floor" or name.endswith("_floor")))
    # Scripts that failed on every side: their names come from bench/<script>.lua.
    for side, script in log.failed:
        for name in benchlog.benches_of(script):
            if name not in log.script_of:
                left_out.append((name, f"{SIDE.get(side, side)} {failure(log.failed[(side, script)])}"))
    return bars, left_out


def draw(ax, bars, runs, lower_better):
    xs = range(len(bars))
    lows = [b["lo"] for b in bars] + [1.0]
    highs = [b["hi"] for b in bars] + [1.0]
    log_scale = max(highs) / min(lows) > 8
    colors = []
    for b in bars:
        better = b["med"] < 1 if lower_better else b["med"] > 1
        colors.append(CONTROL if b["control"] else BETTER if better else WORSE)
    ax.bar(xs, [b["med"] - 1 for b in bars], bottom=1, width=0.65, color=colors,
           edgecolor="#404040", linewidth=0.5, zorder=2)
    ax.errorbar(xs, [b["med"] for b in bars],
                yerr=[[b["med"] - b["lo"] for b in bars], [b["hi"] - b["med"] for b in bars]],
                fmt="_", markersize=14, color="black", ecolor="black", elinewidth=1, capsize=3, zorder=3)
    ax.set_axisbelow(True)
    ax.axhline(1.0, color="black", linewidth=1.2, zorder=2.5)
    if log_scale:
        ax.set_yscale("log")
        bot, top = min(lows) / 1.6, max(highs) * 2.2
        pad_up, pad_down = (lambda y: y * 1.12), (lambda y: y / 1.12)
    else:
        span = max(highs) - min(lows)
        bot, top = min(lows) - 0.12 * span, max(highs) + 0.12 * span
        pad_up, pad_down = (lambda y: y + 0.02 * span), (lambda y: y - 0.02 * span)
    ax.set_ylim(bot, top)
    if log_scale and top / bot < 1e4:
        # 1-2-5 ticks: ratios like 1.2 and 2 stay readable.
        ticks = [m * 10 ** e for e in range(-3, 5) for m in (1, 2, 5) if bot <= m * 10 ** e <= top]
        ax.set_yticks(ticks)
    for x, b in zip(xs, bars):
        if b["med"] >= 1:
            ax.text(x, pad_up(b["hi"]), f"{b['med']:.3g}", ha="center", va="bottom", fontsize=8)
        else:
            ax.text(x, pad_down(b["lo"]), f"{b['med']:.3g}", ha="center", va="top", fontsize=8)
    labels = []
    for b in bars:
        label = b["name"]
        if b["kind"] == "latency":
            label += " (median latency)"
        if b["n"] < runs:
            label += f" (n={b['n']})"
        labels.append(label)
    ax.set_xticks(list(xs))
    ax.set_xticklabels(labels, rotation=50, ha="right", rotation_mode="anchor", fontsize=8.5)
    ax.set_xlim(-0.6, len(bars) - 0.4)
    ax.grid(axis="y", which="major", color="#dddddd", linewidth=0.6, zorder=0)
    ax.tick_params(axis="y", labelsize=8)
    if log_scale:
        from matplotlib.ticker import FuncFormatter, NullFormatter
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
    return log_scale


def main():
    p = argparse.ArgumentParser(prog="bench/chart.py",
                                description="Bar chart of a head-to-head bench/run log (ours / original).")
    p.add_argument("log", nargs="?", default=os.path.join(ROOT, "target", "bench", "latest.log"),
                   help="log of bench/run --against (default target/bench/latest.log)")
    p.add_argument("-o", "--output", help="PNG to write (default bench/chart-<interpreter>.png)")
    args = p.parse_args()

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch
    except ImportError:
        print(INSTALL, file=sys.stderr)
        sys.exit(2)

    try:
        log = benchlog.parse(args.log)
    except OSError as e:
        sys.exit(f"bench/chart.py: {e}")
    if log.fatal:
        sys.exit(f"bench/chart.py: {args.log}: the run stopped before measuring:\n" + "\n".join(log.fatal))
    if not log.header.get("against"):
        sys.exit(f"bench/chart.py: {args.log} is not a head-to-head log (bench/run --against DIR)")
    bars, left_out = measurements(log)
    for name, why in left_out:
        print(f"bench/chart.py: left out {name}: {why}", file=sys.stderr)
    if not bars:
        sys.exit(f"bench/chart.py: {args.log}: no measurement on both sides")

    h = log.header
    runs = int(h.get("runs", "0") or 0) or max(log.runs_seen)
    done = max(log.runs_seen) if log.runs_seen else 0
    unfinished = "" if log.finished else f", UNFINISHED (log ends in run {done})"
    if not log.finished:
        print(f"bench/chart.py: {args.log} has no summary: the run has not finished (charting runs 1-{done})",
              file=sys.stderr)
    for b in bars if log.finished else []:
        if b["n"] < runs:
            print(f"bench/chart.py: {b['name']}: {b['n']} of {runs} runs on both sides", file=sys.stderr)

    interp = h.get("interpreter", "?")
    m = re.match(r"(\S+) \((.*)\)", interp)
    interp_short = f"{os.path.basename(m.group(1))} ({m.group(2)})" if m else interp
    date = h.get("date", h.get("stamp", "?"))
    dm = re.match(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d)", date)
    if dm:
        date = f"{dm.group(1)} {dm.group(2)}" + (" UTC" if date.endswith("+00:00") else "")
    mm = re.search(r'nproc=(\d+) cpu="([^"]*)"', h.get("machine", ""))
    machine = f", nproc={mm.group(1)} {mm.group(2)}" if mm else ""
    title = (f"mtmsg/mtstates: ours / original C modules, per-run ratios\n"
             f"{interp_short}, {date}, {runs} runs, commit {h.get('git', '?')}{machine}{unfinished}")

    speed = [b for b in bars if b["kind"] == "speed"]
    lower = [b for b in bars if b["kind"] != "speed"]
    fig = plt.figure(figsize=(10, 6), dpi=100)
    if speed and lower:
        gs = fig.add_gridspec(1, 2, width_ratios=[len(speed), max(len(lower), 2) + 0.6], wspace=0.28)
        axes = [fig.add_subplot(gs[0, 0]), fig.add_subplot(gs[0, 1])]
    else:
        axes = [fig.add_subplot(1, 1, 1)]
    panels = []
    if speed:
        panels.append((speed, False))
    if lower:
        panels.append((lower, True))
    for ax, (group, lower_better) in zip(axes, panels):
        log_scale = draw(ax, group, runs, lower_better)
        scale = ", log scale" if log_scale else ""
        if lower_better:
            what = " / ".join(x for x, k in (("bytes", "memory"), ("latency", "latency"))
                              if any(b["kind"] == k for b in group))
            ax.set_title(f"{what.replace('bytes', 'memory')}:\nlower is better", fontsize=10)
            ax.set_ylabel(f"ours / original {what}{scale}\n< 1: ours uses less / waits less (better)",
                          fontsize=9)
        else:
            ax.set_title("speed:\nhigher is better", fontsize=10)
            ax.set_ylabel(f"ours / original ops/s{scale}\n> 1: ours faster (better)", fontsize=9)
    fig.suptitle(title, fontsize=11, y=0.985)
    handles = [Patch(facecolor=BETTER, edgecolor="#404040", label="ours better"),
               Patch(facecolor=WORSE, edgecolor="#404040", label="ours worse"),
               Patch(facecolor=CONTROL, edgecolor="#404040", label="control: the same C code on both sides"),
               Line2D([], [], color="black", marker="_", markersize=10, linewidth=1,
                      label="median and min-max of the per-run ratios (bar from 1.0)")]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, 0.0))
    fig.subplots_adjust(left=0.07, right=0.98, top=0.83, bottom=0.3)

    out = args.output or os.path.join(BENCH, f"chart-{slug(interp)}.png")
    fig.savefig(out, dpi=100)
    print(f"bench/chart.py: wrote {out} ({os.path.getsize(out)} bytes)", file=sys.stderr)

    print(f"# {args.log}: median ratio ours/original (min-max, runs); "
          "speed: ops/s, > 1 ours faster; memory: bytes, latency: latency_median_us, < 1 ours better")
    for b in bars:
        print(f"{b['name']:<20} {b['kind']:<8} {b['med']:<8.3g} ({b['lo']:.3g}-{b['hi']:.3g}, {b['n']} runs)")


if __name__ == "__main__":
    main()

"""Reading the raw log of bench/run (target/bench/run-*.log).

Shared by bench/cross_ratio.py and bench/chart.py (standard library only).
The lines read (see bench/README.md):

    # bench/run STAMP runs=N scale=S threads=T [against=DIR]
    # date: ISO-DATE
    # machine: ...
    # interpreter: PATH (VERSION)
    # git: COMMIT[+dirty]
    # run R script SCRIPT side SIDE          (head-to-head; SIDE: ours, ref)
    bench=NAME ops=N ... key=value ...       (one measurement of that run)
    bench=NAME SKIPPED reason="..."
    # FAILED run R script SCRIPT side SIDE: exit N: MESSAGE
    # load at end: ...                       (the summary follows: not read)

values[(run, side, name, key)] holds the value strings of the measurement
lines; runs whose header has no side (single-side logs) are not read.
"""
import os
import re
import statistics

HEADER = re.compile(r"# (date|machine|interpreter|git): (.*)")
RUN = re.compile(r"# run (\d+) script (\S+) side (\w+)")
LINE = re.compile(r"bench=(\w+) (ops=.*)")
SKIPPED = re.compile(r'bench=(\w+) SKIPPED reason="(.*)"')
FAILED = re.compile(r"# FAILED run (\d+) script (\S+) side (\w+): (.*)")


class Log:
    def __init__(self, path):
        self.path = path
        self.header = {}        # stamp, runs, against, date, machine, interpreter, git
        self.values = {}        # (run, side, name, key) -> value string
        self.names = []         # measurement names, in the order of the log
        self.script_of = {}     # name -> script
        self.skipped = {}       # (side, name) -> reason
        self.failed = {}        # (side, script) -> [(run, message)]
        self.runs_seen = set()
        self.finished = False   # the runner's summary is there
        self.fatal = []         # "bench/run: FATAL ..." lines (nothing measured)


def _add_name(log, name, script):
    if name not in log.script_of:
        log.names.append(name)
        log.script_of[name] = script


def parse(path):
    """The Log of one run of bench/run."""
    log = Log(path)
    run, script, side = None, None, None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("# load at end:"):
                log.finished = True
                break
            if line.startswith("# bench/run "):
                fields = line.split()
                log.header["stamp"] = fields[2] if len(fields) > 2 else ""
                for kv in fields[3:]:
                    k, _, v = kv.partition("=")
                    log.header[k] = v
                continue
            if line.startswith("bench/run: FATAL"):
                log.fatal.append(line)
                continue
            m = FAILED.match(line)
            if m:
                log.failed.setdefault((m.group(3), m.group(2)), []).append((int(m.group(1)), m.group(4)))
                continue
            m = HEADER.match(line)
            if m:
                log.header.setdefault(m.group(1), m.group(2))
                continue
            m = RUN.match(line)
            if m:
                run, script, side = int(m.group(1)), m.group(2), m.group(3)
                log.runs_seen.add(run)
                continue
            if run is None:
                continue
            m = SKIPPED.match(line)
            if m:
                _add_name(log, m.group(1), script)
                log.skipped.setdefault((side, m.group(1)), m.group(2))
                continue
            m = LINE.match(line)
            if m:
                _add_name(log, m.group(1), script)
                for kv in m.group(2).split():
                    k, _, v = kv.partition("=")
                    log.values[(run, side, m.group(1), k)] = v
    return log


def load(path):
    """values[(run, side, name, key)] of a log."""
    return parse(path).values


def benches_of(script):
    """The measurement names bench/SCRIPT.lua declares (its `-- benches:` line)."""
    try:
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), script + ".lua")) as f:
            first = f.readline()
    except OSError:
        return []
    return first[len("-- benches:"):].split() if first.startswith("-- benches:") else []


def ratios(values, a, b):
    """Per-run ratios A / B, A and B being (side, name, key): run r of A over
    run r of B, for the runs that have both (and a non-zero B)."""
    runs = sorted({r for r, *_ in values})
    return [float(values[(r, *a)]) / float(values[(r, *b)])
            for r in runs
            if (r, *a) in values and (r, *b) in values and float(values[(r, *b)]) != 0]


def summary(xs):
    """(median, min, max) of a non-empty list."""
    return statistics.median(xs), min(xs), max(xs)

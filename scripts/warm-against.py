#!/usr/bin/env python3
"""The warm bench at a baseline commit and at this one, from rounds that took
turns (scripts/bench.sh with BENCH_BASELINE_COMMIT): each round's warm.md
in RUNS_DIR/baseline-N/ and RUNS_DIR/this-N/. Prints a markdown table: per
row of warm.md, the median over the rounds of the row's median and of its
overhead, at the baseline and here, and their ratio. A round's two runs
follow each other, so the machine's other work weighs on both alike.

    scripts/warm-against.py BASELINE_LABEL RUNS_DIR
"""
import pathlib
import statistics
import sys

label, runs_dir = sys.argv[1], pathlib.Path(sys.argv[2])


def rows(path):
    """warm.md's first table: {row label: (median µs, overhead µs)}."""
    found = {}
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 5 or not cells[1][:1].isdigit():
            continue
        found[cells[0]] = (float(cells[1]), float(cells[4]))
    return found


def rounds(kind):
    return [rows(p / "warm.md") for p in sorted(runs_dir.glob(f"{kind}-*"))]


baseline, this = rounds("baseline"), rounds("this")
if not baseline or not this:
    sys.exit(f"{runs_dir}: no rounds of both builds")
print(
    f"| per request (medians of {len(this)} rounds) | median at `{label}`, µs | median here, µs "
    f"| here ÷ `{label}` | overhead at `{label}` → here, µs | each round's median, `{label}` / here, µs |"
)
print("| --- | ---: | ---: | ---: | ---: | --- |")
for name in this[0]:
    if not all(name in r for r in baseline + this):
        continue
    then = statistics.median(r[name][0] for r in baseline)
    now = statistics.median(r[name][0] for r in this)
    then_over = statistics.median(r[name][1] for r in baseline)
    now_over = statistics.median(r[name][1] for r in this)
    each = ", ".join(f"{b[name][0]:g} / {t[name][0]:g}" for b, t in zip(baseline, this))
    print(
        f"| {name} | {then:g} | {now:g} | {now / then:.3f} | {then_over:g} → {now_over:g} | {each} |"
    )

"""What every benchmark shares: quick mode, the seed, and the ratio report.

Benchmark modules import from here, never from `conftest` (tests/ and benchmarks/ each
have a conftest module, and only one of them can be imported under that name).
Every target is reported as a ratio against the naive way measured in the same run:
each benchmark records its mean under a (group, variant) key and the terminal summary
prints ours / naive per group (and writes .benchmarks/ratios.json). Nothing here
asserts a time.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

QUICK = os.environ.get("MODERATION_BENCH_QUICK") == "1"
SEED = 20261123
_MEANS: dict[tuple[str, str], float] = {}
_UNITS: dict[tuple[str, str], int] = {}


def mean_seconds(benchmark) -> float:  # type: ignore[no-untyped-def]
    """Mean seconds per round; NaN under --benchmark-disable (the code still runs once)."""
    return benchmark.stats.stats.mean if benchmark.stats else float("nan")


def median_seconds(benchmark) -> float:  # type: ignore[no-untyped-def]
    """Median seconds per round; NaN under --benchmark-disable."""
    return benchmark.stats.stats.median if benchmark.stats else float("nan")


def record(benchmark, group: str, variant: str, units: int) -> None:  # type: ignore[no-untyped-def]
    """Remember a finished benchmark's mean for the ratio table (units: items per call),
    and put its throughput (`per_s`) in the benchmark's extra_info."""
    mean = throughput(benchmark, units)
    if not math.isnan(mean):  # the benchmark was timed
        record_seconds(group, variant, units, mean)


def throughput(benchmark, units: int) -> float:  # type: ignore[no-untyped-def]
    """Put a benchmark's throughput (`per_s`) in its extra_info, for a variant that is
    neither side of a ratio; returns the mean seconds per round (NaN when not timed)."""
    mean = mean_seconds(benchmark)
    if not math.isnan(mean):
        benchmark.extra_info["per_s"] = units / mean
    return mean


def record_seconds(group: str, variant: str, units: int, seconds: float) -> None:
    """`record` for a side timed by the benchmark itself (both sides of an interleaved run)."""
    _MEANS[(group, variant)] = seconds
    _UNITS[(group, variant)] = units


def write_ratio_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    groups = sorted({g for g, _ in _MEANS})
    if not groups:
        return
    rows = {}
    terminalreporter.write_sep("-", f"ratios against the naive way (seed {SEED}, quick={QUICK})")
    for g in groups:
        ours, naive = _MEANS.get((g, "ours")), _MEANS.get((g, "naive"))
        # Throughput of each side; the ratio compares throughputs (sides may time different counts).
        ours_rate = _UNITS[(g, "ours")] / ours if ours else None
        naive_rate = _UNITS[(g, "naive")] / naive if naive else None
        line = f"{g:32s}"
        if ours_rate:
            line += f" ours {ours_rate:10.1f} items/s"
        if naive_rate:
            line += f" naive {naive_rate:10.1f} items/s"
        if ours_rate and naive_rate:
            line += f"  ratio {ours_rate / naive_rate:6.1f}x"
            rows[g] = {"ours_per_s": ours_rate, "naive_per_s": naive_rate, "ratio": ours_rate / naive_rate}
        terminalreporter.write_line(line)
    out = Path(".benchmarks")
    out.mkdir(exist_ok=True)
    (out / "ratios.json").write_text(json.dumps({"quick": QUICK, "seed": SEED, "groups": rows}, indent=2))



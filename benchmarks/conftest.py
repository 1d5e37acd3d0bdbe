"""Benchmark fixtures: a served process, seeded data, and the ratio report.

Every target is reported as a ratio against the naive way measured in the same run:
each benchmark records its mean under a (group, variant) key and the terminal summary
prints ours / naive per group (and writes .benchmarks/ratios.json). Nothing here
asserts a time: the figures are read, written down in benchmarks/README.md, and
compared between runs.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

QUICK = os.environ.get("MODERATION_BENCH_QUICK") == "1"
SEED = 20261123
_MEANS: dict[tuple[str, str], float] = {}
_UNITS: dict[tuple[str, str], int] = {}


def record(benchmark, group: str, variant: str, units: int) -> None:
    """Remember a finished benchmark's mean for the ratio table (units: items per call)."""
    stats = benchmark.stats.stats if benchmark.stats else None
    if stats is not None:
        _MEANS[(group, variant)] = stats.mean
        _UNITS[(group, variant)] = units


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory):
    """`moderation serve` in its own process with its own local Ray on this machine's 2 cores."""
    from servers import ServedProcess

    proc = ServedProcess(
        tmp_path_factory.mktemp("bench") / "var",
        free_port(),
        MODERATION_TEXT_WORKERS="2",
        MODERATION_PHOTO_WORKERS="2",
        MODERATION_MAX_IN_FLIGHT="100000",
    )
    key = proc.create_key("bench")
    proc.start()
    proc.key = key  # type: ignore[attr-defined]
    yield proc
    proc.kill()

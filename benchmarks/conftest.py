"""Benchmark fixtures (a served process) and the ratio report at the end of the run
(see benchkit.py). Figures are read, written down in benchmarks/README.md with the
machine and command, and compared between runs; nothing asserts a time."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from benchkit import write_ratio_summary


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    write_ratio_summary(terminalreporter)


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory):
    """`moderation serve` in its own process with its own local Ray on this machine's 2 cores."""
    from servers import ServedProcess, free_port

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


@pytest.fixture(scope="session")
def ray_session():
    """The local Ray of the session (shared with tests/ when both run in one pytest)."""
    from servers import local_ray

    with local_ray():
        yield

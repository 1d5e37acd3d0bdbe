"""Shared fixtures: one local Ray per session, a throwaway PostgreSQL server, live services.

Everything is real: a real SQLite file, a real PostgreSQL server (started from the
installed binaries when MODERATION_TEST_POSTGRES_URL is not set), a real local Ray, the
service on a real port spoken to over HTTP.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")

from servers import (
    EVAL_DIR,
    LiveService,
    PostgresServer,
    fresh_postgres_database,
    local_ray,
    make_settings,
)

from moderation.store import make_engine, migrate
from moderation.store.repository import Store

REPO = Path(__file__).resolve().parent.parent


# -- Ray --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    """One local Ray for the whole session."""
    with local_ray():
        yield


# -- PostgreSQL ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    configured = os.environ.get("MODERATION_TEST_POSTGRES_URL")
    if configured:
        yield configured
        return
    if not shutil.which("initdb") or not shutil.which("pg_ctl"):
        pytest.fail("PostgreSQL binaries (initdb, pg_ctl) are not installed: run `make deps`")
    server = PostgresServer()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every store test runs on both backends."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'moderation.db'}"
    return fresh_postgres_database(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A migrated store on each backend of `database_url`."""
    engine = make_engine(database_url)
    migrate(engine)
    yield Store(engine)
    engine.dispose()


# -- a live service -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def live(ray_session: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    """One service per test module (starting actors costs seconds); tests use unique ids."""
    svc = LiveService(make_settings(tmp_path_factory.mktemp("live")))
    try:
        yield svc
    finally:
        svc.stop()


@pytest.fixture(scope="module")
def api(live: LiveService) -> Iterator[httpx.Client]:
    """An HTTP client with a valid API key."""
    with live.client(live.api_key()) as c:
        yield c


@pytest.fixture
def eval_dir() -> Path:
    if not EVAL_DIR.is_dir():
        pytest.skip(f"evaluation data not found at {EVAL_DIR}")
    return EVAL_DIR

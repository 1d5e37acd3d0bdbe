"""Storage: the engine (SQLite in WAL mode by default, PostgreSQL when configured),
Alembic migrations, and `Store`, the one repository the API talks to.

Database errors are translated here: a locked or unreachable database becomes
`Unavailable` (503 with Retry-After), never a 500.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=8)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")  # durable across process death; WAL fsyncs at checkpoints
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent; safe at every start)."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class StoreRef:
    """A store named by its database URL: picklable, so an actor on any node opens its own
    engine (an engine holds connections and cannot travel)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._store: Any = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"database_url": self.database_url}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["database_url"])  # type: ignore[misc]

    @property
    def store(self) -> Any:
        """The `repository.Store` over this URL, opened on first use in this process. A
        threaded actor's first calls may come at once: one engine (one connection pool)
        is made, not one per thread."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    # the package's own module, which imports this one: imported when first used
                    from moderation.store.repository import Store

                    self._store = Store(make_engine(self.database_url))
        return self._store

"""The bank index shards on a real local Ray over a real SQLite database: concurrent syncs
share passes over the bank log, and a sync still shows every change committed before it."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path
from typing import Any

import pytest
import ray
from servers import wait_for

from moderation.banks import BankFeed
from moderation.store import make_engine, migrate
from moderation.store.repository import NewBankEntry, Store
from moderation.workers.actors import IndexActor, ShardedIndex

_names = itertools.count()


def _entry(k: int) -> NewBankEntry:
    return NewBankEntry("banned", f"{k:064x}", None, None, None, None, None, None, None, "test")


def _slow_feed(url: str, seconds: float) -> Any:
    """A `BankFeed` whose passes over the log take `seconds` after reading it, and count
    themselves. Defined in a function so that Ray sends the class by value."""

    class SlowFeed(BankFeed):
        passes = 0

        def changes(self, *args: Any) -> list[tuple[int, int, str]]:
            found = super().changes(*args)
            SlowFeed.passes += 1
            time.sleep(seconds)  # the log was read before the wait: what is written now is not in it
            return found

    return SlowFeed(url)


@pytest.fixture
def database(tmp_path: Path) -> Store:
    url = f"sqlite:///{tmp_path / 'banks.db'}"
    engine = make_engine(url)
    migrate(engine)
    store = Store(engine)
    store.add_bank_entries([_entry(1)])
    return store


def _url(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=False)


def _passes(actor: Any) -> int:
    return int(ray.get(actor.__ray_call__.remote(lambda self: type(self.source).passes)))


def _shard(store: Store, seconds: float) -> Any:
    """One shard that polls the log only once after loading, so that only syncs make passes."""
    actor = IndexActor.options(name=f"test-shard-{next(_names)}").remote(
        _slow_feed(_url(store), seconds), 0, 1, 50, poll_seconds=3600
    )
    wait_for(lambda: _ready(actor), timeout=60, interval=0.1, what="the shard loaded")
    wait_for(lambda: _passes(actor) >= 1, timeout=30, interval=0.1, what="its first poll")
    return actor


def _ready(actor: Any) -> bool:
    return bool(ray.get(actor.__ray_call__.remote(lambda self: self.ready)))


def test_concurrent_syncs_on_a_shard_share_two_passes_over_the_log(ray_session: None, database: Store) -> None:
    shard = _shard(database, seconds=0.5)
    try:
        before = _passes(shard)
        sizes = ray.get([shard.sync.remote() for _ in range(8)])  # 8: the shard's threads
        assert sizes == [1] * 8
        # one pass running when the others arrive, and one they all share (a third if the
        # last ones reached the shard only after the second had started)
        assert _passes(shard) - before <= 3
    finally:
        ray.kill(shard)


def test_sync_shows_a_change_committed_while_a_pass_was_running(ray_session: None, database: Store) -> None:
    shard = _shard(database, seconds=1.0)
    try:
        before = _passes(shard)
        running = shard.sync.remote()  # reads the log, then takes a second to finish
        wait_for(lambda: _passes(shard) > before, timeout=30, interval=0.02, what="a pass under way")
        database.add_bank_entries([_entry(2)])
        assert ray.get(shard.sync.remote()) == 2  # not the running pass: it read the log too early
        assert ray.get(running) in (1, 2)
    finally:
        ray.kill(shard)


class _CountedRounds(ShardedIndex):
    """The real sharded index, counting the rounds of remote calls its syncs make."""

    rounds = 0

    async def _each(self, method: str, *args: Any, create: bool = True) -> list[Any]:
        if method == "sync":
            self.rounds += 1
        return await super()._each(method, *args, create=create)


def test_concurrent_syncs_in_one_process_share_rounds_of_remote_calls(ray_session: None, database: Store) -> None:
    index = _CountedRounds(_slow_feed(_url(database), 0.3), 2, 50, f"test-index-{next(_names)}")

    async def burst() -> None:
        index.handles(create=True)
        wait_for(lambda: _all_ready(index), timeout=60, interval=0.1, what="the shards loaded")
        await asyncio.gather(*(index.sync() for _ in range(16)))
        database.add_bank_entries([_entry(3)])
        await index.sync()  # a later sync still makes its own round, and sees the change
        assert await index.size() == 2

    try:
        asyncio.run(burst())
        assert index.rounds <= 3  # 16 callers: the first round and one shared; then the last sync's
    finally:
        index.kill()


def _all_ready(index: ShardedIndex) -> bool:
    return all(_ready(h) for h in index.handles())

"""WorkerPool and InFlight on a real local Ray: batching, spreading, replacement of a
killed actor (a real `ray.kill`), retries that give up, broadcast to replacements."""

from __future__ import annotations

import asyncio
import os

import pytest
import ray

from moderation.errors import Overloaded, Unavailable
from moderation.types import Item, ItemType, Signals
from moderation.workers.pool import InFlight, WorkerPool


@ray.remote(num_cpus=0)
class EchoWorker:
    """Answers each item with one score naming the process that analysed it."""

    def __init__(self) -> None:
        self.config = "initial"
        self.calls = 0

    def ping(self) -> bool:
        return True

    def analyze(self, items: list[Item]) -> list[Signals]:
        self.calls += 1
        return [Signals(scores={"pid": float(os.getpid()), "size": float(len(items))}, language=self.config) for _ in items]

    def reconfigure(self, config: str) -> str:
        self.config = config
        return config

    def die(self) -> None:
        os._exit(1)


def _items(n: int) -> list[Item]:
    return [Item(id=f"i{k}", type=ItemType.TEXT, context="message", author_id="a", text=f"text {k}") for k in range(n)]


def test_in_flight_refuses_over_the_ceiling_and_counts_releases() -> None:
    flight = InFlight(10)
    flight.acquire(6)
    with pytest.raises(Overloaded) as refused:
        flight.acquire(5)
    assert refused.value.retry_after == 1 and flight.current == 6  # a refusal takes nothing
    flight.acquire(4)
    flight.release(10)
    assert flight.current == 0
    flight.release(3)  # never below zero
    assert flight.current == 0


def test_pool_spreads_a_request_over_every_actor_in_batches(ray_session: None) -> None:
    pool = WorkerPool("echo", EchoWorker.remote, size=2, batch_size=30, retries=1)
    try:
        asyncio.run(pool.ready())
        out = asyncio.run(pool.analyze(_items(100)))
        assert len(out) == 100
        assert {s.scores["size"] for s in out} == {30.0, 10.0}  # 30 + 30 + 30 + 10, over both actors
        assert len({s.scores["pid"] for s in out}) == 2
        assert asyncio.run(pool.analyze([])) == []
    finally:
        pool.shutdown()


def test_pool_replaces_a_killed_actor_and_answers_every_item(ray_session: None) -> None:
    pool = WorkerPool("echo", EchoWorker.remote, size=2, batch_size=8, retries=2)
    try:
        asyncio.run(pool.ready())
        dead = pool.actors[0]
        ray.kill(dead, no_restart=True)
        out = asyncio.run(pool.analyze(_items(40)))
        assert len(out) == 40 and pool.replaced == 1 and pool.actors[0] is not dead
    finally:
        pool.shutdown()


def test_pool_gives_up_with_unavailable_when_every_retry_dies(ray_session: None) -> None:
    def dying() -> object:
        actor = EchoWorker.remote()
        ray.kill(actor, no_restart=True)
        return actor

    pool = WorkerPool("echo", dying, size=1, batch_size=8, retries=2)
    try:
        with pytest.raises(Unavailable):
            asyncio.run(pool.analyze(_items(3)))
        assert pool.replaced == 3
    finally:
        pool.shutdown()


def test_broadcast_reaches_the_replacement_of_a_dead_actor(ray_session: None) -> None:
    pool = WorkerPool("echo", EchoWorker.remote, size=2, batch_size=8, retries=1)
    try:
        asyncio.run(pool.ready())
        ray.kill(pool.actors[1], no_restart=True)
        assert asyncio.run(pool.broadcast("reconfigure", "v2")) == ["v2", "v2"]
        assert {s.language for s in asyncio.run(pool.analyze(_items(10)))} == {"v2"}
    finally:
        pool.shutdown()

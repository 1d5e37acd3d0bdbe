"""Batching into the Ray pool: one remote call per chunk against one remote call per item,
same actors, same 200 texts (the choice `worker_batch_size` rests on)."""

from __future__ import annotations

import asyncio

import pytest
from benchkit import SEED, record
from data import texts

from moderation.config import DEFAULT_POLICY
from moderation.policy import load_policy
from moderation.types import Item, ItemType
from moderation.workers.actors import TextWorker
from moderation.workers.pool import WorkerPool

N = 200


@pytest.fixture(scope="module")
def pools(ray_session):  # type: ignore[no-untyped-def]
    policy = load_policy(DEFAULT_POLICY)
    batched = WorkerPool("text", lambda: TextWorker.remote(policy), 2, batch_size=64, retries=1)
    per_item = WorkerPool("text", lambda: TextWorker.remote(policy), 2, batch_size=1, retries=1)
    asyncio.run(batched.ready())
    asyncio.run(per_item.ready())
    yield batched, per_item
    batched.shutdown()
    per_item.shutdown()


@pytest.fixture(scope="module")
def items() -> list[Item]:
    return [
        Item(id=str(i), type=ItemType.TEXT, context="message", author_id="a", text=t)
        for i, t in enumerate(texts(N, SEED))
    ]


@pytest.mark.benchmark(group="ray-batching-200-texts")
def test_pool_batched_calls(benchmark, pools, items) -> None:
    batched, _ = pools
    out = benchmark(lambda: asyncio.run(batched.analyze(items)))
    assert len(out) == N
    record(benchmark, "ray-batching-200-texts", "ours", N)


@pytest.mark.benchmark(group="ray-batching-200-texts")
def test_pool_one_call_per_item(benchmark, pools, items) -> None:
    _, per_item = pools
    out = benchmark(lambda: asyncio.run(per_item.analyze(items)))
    assert len(out) == N
    record(benchmark, "ray-batching-200-texts", "naive", N)

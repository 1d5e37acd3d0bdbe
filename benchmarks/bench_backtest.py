"""A backtest of stored texts: every text read back from the database, analysed by the
real TextAnalyzer (in this process, batches of 2,000) and decided by a stricter candidate
policy, against the naive way: one item at a time (read it, analyse it, decide it).

Target: 100,000 stored texts in under a minute on the development machine (2 cores).

    .venv/bin/pytest benchmarks/bench_backtest.py -p no:cacheprovider   (MODERATION_BENCH_QUICK=1: 5,000 texts)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from benchkit import QUICK, SEED, record
from data import texts
from review_helpers import policy_text

from moderation.photos.decode import DecodeLimits
from moderation.policy import parse_policy
from moderation.store import make_engine, migrate
from moderation.store.repository import NewItem, Store
from moderation.tuning import LocalAnalyzers, backtest, store_examples
from moderation.types import Item, ItemType

N = 5_000 if QUICK else 100_000
N_NAIVE = 300 if QUICK else 2_000  # the naive way on a sample: its throughput is what is compared
CANDIDATE = re.sub(r"(?m)^  profanity: \{.*\}$", "  profanity: {review: 0.5, reject: 0.8}", policy_text())


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    print(f"seed {SEED}, {N} stored texts")
    engine = make_engine(f"sqlite:///{Path(tmp_path_factory.mktemp('backtest')) / 'bench.db'}")
    migrate(engine)
    s = Store(engine)
    corpus = texts(N, SEED)
    for start in range(0, N, 5_000):
        s.save_items([
            NewItem(id=f"t{k}", type="text", context="message", author_id=f"a{k % 500}", content_sha256=f"t{k}", text=corpus[k],
                    image=None, media_type=None, locale=None, language=None, metadata=None, api_key_id=None, callback_url=None,
                    decision="approve", reasons=[], scores={}, features=None, policy_version="seed", queue=None, priority=5)
            for k in range(start, min(start + 5_000, N))
        ])
    return s


@pytest.mark.benchmark(group="backtest")
def test_backtest_stored_texts_in_batches(benchmark, store: Store) -> None:
    candidate = parse_policy(CANDIDATE)
    analyze = LocalAnalyzers(candidate, DecodeLimits())

    def run() -> int:
        return backtest(candidate, store_examples(store, batch=2_000), analyze).items

    assert benchmark.pedantic(run, rounds=1, iterations=1) == N
    record(benchmark, "backtest", "ours", N)


@pytest.mark.benchmark(group="backtest")
def test_backtest_naive_one_item_at_a_time(benchmark, store: Store) -> None:
    candidate = parse_policy(CANDIDATE)
    analyze = LocalAnalyzers(candidate, DecodeLimits())

    def run() -> int:
        changed = 0
        for k in range(N_NAIVE):
            row = _row(store, f"t{k}")
            item = Item(id=row.id, type=ItemType(row.type), context=row.context, author_id=row.author_id, text=row.text)
            [sig] = analyze([item])
            changed += candidate.decide(item, sig).decision.value != row.first_decision
        return changed

    benchmark.pedantic(run, rounds=1, iterations=1)
    record(benchmark, "backtest", "naive", N_NAIVE)


def _row(store: Store, item_id: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import select  # only the naive side reads one row at a time

    from moderation.store.tables import items

    c = items.c
    with store.engine.connect() as conn:
        return conn.execute(select(c.id, c.type, c.context, c.author_id, c.text, c.first_decision).where(c.id == item_id)).one()

"""Search over stored texts (target: median under 100 ms at 100,000 texts, on SQLite and on
PostgreSQL), against the naive way in the same run: `lower(text) LIKE '%word%'` for each
word, newest first. Also the index's cost: bytes of index per item stored.

Texts: the seeded carpool-like texts of `data.texts`, each with three words drawn from a
20,000-word made-up vocabulary with Zipf weights, so a query meets common, rare and
absent words. Queries cycle through a fixed list (one per round): common words, a rare
word, accents left out, a prefix, two words, a word and an author.

    .venv/bin/pytest benchmarks/bench_search.py -p no:cacheprovider   (MODERATION_BENCH_QUICK=1: 5,000 items)
"""

from __future__ import annotations

import itertools
import os
import random
import statistics
import time
from collections.abc import Iterator

import pytest
from benchkit import QUICK, SEED, median_seconds, record
from data import texts
from review_helpers import review_item
from servers import PostgresServer, fresh_postgres_database
from sqlalchemy import and_, func, select

from moderation.store import make_engine, migrate
from moderation.store.repository import Store
from moderation.store.search import SearchQuery, text_index
from moderation.store.tables import item_categories, items

N_ITEMS = 5_000 if QUICK else 100_000
ROUNDS = 30 if QUICK else 200
BATCH = 1_000
SYLLABLES = ["ka", "lo", "mi", "ré", "su", "ton", "ver", "pa", "dé", "bri", "cho", "nu", "gal", "fé", "zo", "tri"]


def vocabulary(rng: random.Random, n: int = 20_000) -> list[str]:
    words: set[str] = set()
    while len(words) < n:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def corpus(n: int) -> tuple[list[str], list[str]]:
    """(texts, vocabulary), seeded."""
    rng = random.Random(SEED)
    vocab = vocabulary(rng)
    weights = [1 / (k + 1) for k in range(len(vocab))]
    base = texts(n, SEED)
    extra = rng.choices(vocab, weights=weights, k=3 * n)
    return [f"{t} {' '.join(extra[3 * i : 3 * i + 3])}" for i, t in enumerate(base)], vocab


def queries(vocab: list[str]) -> list[dict[str, str]]:
    # vocab[k] is drawn with weight 1/(k+1): at 100,000 texts vocab[100] is in about 280
    # texts, vocab[5000] in about 6
    return [
        {"text": "trajet"},  # a common word
        {"text": "lyon"},
        {"text": "depart"},  # "départ" without its accent
        {"text": "recomm"},  # a prefix of "recommande"
        {"text": "conduite souple"},  # two words, both in the same template
        {"text": vocab[100]},  # a made-up word of a few hundred texts
        {"text": vocab[5000]},  # a rare one
        {"text": "zzzabsent"},  # in no text: the naive way reads them all
        {"text": "clio", "author_id": "a7"},
    ]


def fill(store: Store, n: int) -> None:
    all_texts, _ = corpus(n)
    for start in range(0, n, BATCH):
        store.save_items(
            [
                review_item(f"s-{i}", text=all_texts[i], author=f"a{i % 997}", decision="approve" if i % 10 else "review",
                            queue="texts", reasons=[] if i % 4 else None)
                for i in range(start, min(n, start + BATCH))
            ]
        )


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[str]:
    configured = os.environ.get("MODERATION_TEST_POSTGRES_URL")
    if configured:
        yield configured
        return
    server = PostgresServer()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def filled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Store]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('search') / 'bench.db'}"
    else:
        url = fresh_postgres_database(request.getfixturevalue("postgres_server"))
    engine = make_engine(url)
    migrate(engine)
    store = Store(engine)
    t0 = time.perf_counter()
    fill(store, N_ITEMS)
    print(f"\n{request.param}: {N_ITEMS} items stored in {time.perf_counter() - t0:.1f} s (seed {SEED})")
    if request.param == "postgres":
        # what autovacuum does after a bulk load: the GIN pending list merged, planner statistics
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    yield request.param, store
    engine.dispose()


def naive(store: Store, q: dict[str, str], limit: int = 20) -> list[str]:
    """LIKE '%word%' on the lowercased texts, every word, newest first: a scan of the table."""
    c = items.c
    conds = [func.lower(c.text).like(f"%{w.lower()}%") for w in q["text"].split()]
    if "author_id" in q:
        conds.append(c.author_id == q["author_id"])
    with store.engine.connect() as conn:
        return list(conn.execute(select(c.id).where(and_(*conds)).order_by(c.pk.desc()).limit(limit)).scalars())


def test_search(benchmark, filled: tuple[str, Store]) -> None:
    backend, store = filled
    _, vocab = corpus(1)
    qs = queries(vocab)
    cycle = itertools.cycle(qs)
    benchmark.group = f"search {N_ITEMS} texts {backend}"
    benchmark.pedantic(lambda: store.search(SearchQuery(**next(cycle))), rounds=ROUNDS, iterations=1, warmup_rounds=len(qs))
    record(benchmark, f"search {backend}", "ours", 1)
    per_query = {}
    for q in qs:
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            found = store.search(SearchQuery(**q)).hits
            times.append(time.perf_counter() - t0)
        per_query[" ".join(q.values())] = (round(statistics.median(times) * 1000, 2), len(found))
    with store.engine.connect() as conn:
        index_bytes = text_index(conn.dialect.name).size_bytes(conn)
        cat_rows = conn.execute(select(func.count()).select_from(item_categories)).scalar_one()
        cat_bytes = category_bytes(conn)
        parts = index_parts(conn)
    benchmark.extra_info.update(
        median_ms=round(median_seconds(benchmark) * 1000, 2),
        items=N_ITEMS,
        index_bytes_per_item=round(index_bytes / N_ITEMS, 1),
        category_rows=cat_rows,
        category_bytes_per_item=round(cat_bytes / N_ITEMS, 1),
        per_query_ms_and_hits=per_query,
        index_parts_bytes=parts,
    )
    print(f"{backend}: {benchmark.extra_info}")


def test_naive_like(benchmark, filled: tuple[str, Store]) -> None:
    backend, store = filled
    _, vocab = corpus(1)
    qs = queries(vocab)
    cycle = itertools.cycle(qs)
    benchmark.group = f"search {N_ITEMS} texts {backend}"
    benchmark.pedantic(lambda: naive(store, next(cycle)), rounds=max(len(qs), ROUNDS // 5), iterations=1)
    record(benchmark, f"search {backend}", "naive", 1)
    benchmark.extra_info["median_ms"] = round(median_seconds(benchmark) * 1000, 2)
    print(f"{backend} naive: {benchmark.extra_info}")


def category_bytes(conn) -> int:  # type: ignore[no-untyped-def]
    if conn.dialect.name == "sqlite":
        return int(conn.exec_driver_sql(
            "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN ('item_categories', 'sqlite_autoindex_item_categories_1')"
        ).scalar_one())
    return int(conn.exec_driver_sql("SELECT pg_total_relation_size('item_categories')").scalar_one())


def index_parts(conn) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Bytes of each part of the full-text index."""
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("SELECT name, sum(pgsize) FROM dbstat WHERE name LIKE 'item_search%' GROUP BY name").all()
    else:
        rows = conn.exec_driver_sql(
            "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c WHERE c.relname IN "
            "('item_search', 'ix_item_search_words', 'item_search_pkey') OR c.oid = (SELECT reltoastrelid FROM pg_class WHERE relname = 'item_search')"
        ).all()
    return {str(name): int(size) for name, size in rows}

"""Near-duplicate index: our multi-index hashing against a numpy linear scan and threatexchange.

Run: `.venv/bin/python -m pytest benchmarks/bench_index.py --benchmark-only`
Quick (CI): `MODERATION_BENCH_QUICK=1 ...` shrinks the bank from 10M to 100k hashes.
Seeded, uniform random hashes; queries are bank hashes with a few bits flipped (true
matches exist) plus fresh random hashes (no match). Build time, memory per hash and
recall against the linear scan go into each benchmark's extra_info; the ratio summary
prints ours against the linear scan and against threatexchange.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from benchkit import QUICK, mean_seconds, record

from moderation.photos.index import HashIndex

SEED = 20240611
N = 100_000 if QUICK else 10_000_000
N_QUERIES = 40
print(f"bench_index seed={SEED} n={N} quick={QUICK}")


def _bank(bits: int) -> np.ndarray:
    return np.random.default_rng(SEED + bits).integers(0, 256, (N, bits // 8), dtype=np.uint8)


def _queries(bank: np.ndarray, flips: int) -> list[bytes]:
    rng = np.random.default_rng(SEED + 1)
    bits = bank.shape[1] * 8
    out = []
    for j in range(N_QUERIES):
        if j % 2:
            out.append(rng.integers(0, 256, bank.shape[1], dtype=np.uint8).tobytes())
            continue
        q = np.unpackbits(bank[rng.integers(0, N)])
        q[rng.choice(bits, flips, replace=False)] ^= 1
        out.append(np.packbits(q).tobytes())
    return out


def _ours(bank: np.ndarray) -> tuple[HashIndex, float]:
    index = HashIndex(bank.shape[1] * 8)
    start = time.perf_counter()
    step = 1_000_000
    for i in range(0, N, step):
        chunk = bank[i : i + step]
        index.add(range(i, i + len(chunk)), [row.tobytes() for row in chunk])
    return index, time.perf_counter() - start


def _linear(bank_words: np.ndarray, q: bytes, r: int) -> np.ndarray:
    # The naive way: XOR every banked hash with the query, popcount, keep <= r.
    qw = np.frombuffer(q, dtype=np.uint64)
    dist = np.bitwise_count(bank_words ^ qw).sum(axis=1)
    return np.flatnonzero(dist <= r)


def _loop(fn, queries):
    def run():
        return [fn(q) for q in queries]
    return run


def _setup(bits: int) -> tuple[np.ndarray, HashIndex, float]:
    bank = _bank(bits)
    return (bank, *_ours(bank))


@pytest.fixture(scope="module")
def phash_setup() -> tuple[np.ndarray, HashIndex, float]:
    return _setup(64)


@pytest.fixture(scope="module")
def pdq_setup() -> tuple[np.ndarray, HashIndex, float]:
    return _setup(256)


def _recall(ours, truth) -> float:
    hits = sum(len(set(t)) for t in truth)
    return 1.0 if hits == 0 else sum(len(set(o) & set(t)) for o, t in zip(ours, truth)) / hits


def _bench_ours(benchmark, setup, radius: int, flips: int, group: str) -> None:  # type: ignore[no-untyped-def]
    bank, index, build_s = setup
    queries = _queries(bank, flips)
    results = benchmark(_loop(lambda q: index.query(q, radius), queries))
    truth = [_linear(bank.view(np.uint64), q, radius).tolist() for q in queries]
    record(benchmark, group, "ours", len(queries))
    benchmark.extra_info.update(
        n=N, per_query_ms=mean_seconds(benchmark) / len(queries) * 1e3, build_s=build_s,
        bytes_per_hash=index.memory_bytes() / N,
        recall=_recall([[i for i, _ in r] for r in results], truth),
    )


def _bench_linear_scan(benchmark, setup, radius: int, flips: int, group: str) -> None:  # type: ignore[no-untyped-def]
    bank, _, _ = setup
    words = bank.view(np.uint64)
    queries = _queries(bank, flips)
    benchmark.pedantic(_loop(lambda q: _linear(words, q, radius), queries), rounds=2)
    record(benchmark, group, "naive", len(queries))
    benchmark.extra_info.update(n=N, per_query_ms=mean_seconds(benchmark) / len(queries) * 1e3)


@pytest.mark.benchmark(group="index-phash-r8")
def test_phash_r8_ours(benchmark, phash_setup) -> None:
    _bench_ours(benchmark, phash_setup, 8, 4, "index-phash-r8-vs-scan")


@pytest.mark.benchmark(group="index-phash-r8")
def test_phash_r8_linear_scan(benchmark, phash_setup) -> None:
    _bench_linear_scan(benchmark, phash_setup, 8, 4, "index-phash-r8-vs-scan")


@pytest.mark.benchmark(group="index-pdq-r31")
def test_pdq_r31_ours(benchmark, pdq_setup) -> None:
    _bench_ours(benchmark, pdq_setup, 31, 16, "index-pdq-r31-vs-scan")
    # Also the reference for the comparison with Meta's matcher below.
    record(benchmark, "index-pdq-r31-vs-threatexchange", "ours", N_QUERIES)


@pytest.mark.benchmark(group="index-pdq-r31")
def test_pdq_r31_linear_scan(benchmark, pdq_setup) -> None:
    _bench_linear_scan(benchmark, pdq_setup, 31, 16, "index-pdq-r31-vs-scan")


@pytest.mark.benchmark(group="index-pdq-r31")
def test_pdq_r31_threatexchange(benchmark, pdq_setup) -> None:
    pdq_matcher = pytest.importorskip("threatexchange.signal_type.pdq.pdq_faiss_matcher")
    bank, _, _ = pdq_setup
    start = time.perf_counter()
    # What threatexchange's PDQIndex wraps: faiss IndexBinaryMultiHash(256, 16 maps, 16 bits).
    index = pdq_matcher.PDQMultiHashIndex()
    hexes = [row.tobytes().hex() for row in bank]
    index.add(hexes, range(N))
    build_s = time.perf_counter() - start
    del hexes
    queries = _queries(bank, 16)
    qhex = [q.hex() for q in queries]
    results = benchmark.pedantic(lambda: [index.search_with_distance_in_result([q], 31)[q] for q in qhex], rounds=2)
    words = bank.view(np.uint64)
    truth = [_linear(words, q, 31).tolist() for q in queries]
    record(benchmark, "index-pdq-r31-vs-threatexchange", "naive", len(queries))
    benchmark.extra_info.update(
        n=N, per_query_ms=mean_seconds(benchmark) / len(queries) * 1e3, build_s=build_s,
        recall=_recall([[int(m[0]) for m in r] for r in results], truth),
    )

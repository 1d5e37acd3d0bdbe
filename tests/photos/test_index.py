"""The index is exact (same answers as a linear scan), incremental, and matching follows the thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from moderation.photos.hashing import PhotoHashes
from moderation.photos.index import (
    HashIndex,
    Match,
    MatchThresholds,
    index_photos,
    match_photo,
)


def _random_hashes(n: int, bits: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2, (n, bits), dtype=np.uint8)


def _near(base: np.ndarray, flips: int, rng: np.random.Generator) -> np.ndarray:
    q = base.copy()
    q[rng.choice(base.size, flips, replace=False)] ^= 1
    return q


def _brute(bits_db: np.ndarray, ids: np.ndarray, q: np.ndarray, r: int) -> dict[int, int]:
    dist = (bits_db != q).sum(axis=1)
    best: dict[int, int] = {}
    for i, d in zip(ids[dist <= r], dist[dist <= r]):
        best[int(i)] = min(best.get(int(i), 1 << 30), int(d))
    return best


@pytest.mark.parametrize(("bits", "radius"), [(64, 8), (64, 14), (256, 31), (256, 70)])
def test_query_matches_linear_scan(bits: int, radius: int) -> None:
    rng = np.random.default_rng(bits + radius)
    db = _random_hashes(30_000, bits, seed=bits)
    ids = np.arange(len(db)) // 2  # two hashes per id, like variants
    # Plant near neighbours so every query has true hits at various distances.
    for j in range(50):
        db[1000 + j] = _near(db[j], j % (radius + 3), rng)
    index = HashIndex(bits, tail_rows=5_000)  # small tail: queries hit main tables and tail
    for start in range(0, len(db), 7_000):
        chunk = db[start : start + 7_000]
        index.add(ids[start : start + 7_000].tolist(), [np.packbits(h).tobytes() for h in chunk])
    assert len(index) == len(db)
    for j in range(50):
        q = _near(db[j], 2, rng)
        got = index.query(np.packbits(q).tobytes(), radius)
        assert dict(got) == _brute(db, ids, q, radius)
        assert [d for _, d in got] == sorted(d for _, d in got)
    # query_many (all queries probed together) against the scan, query by query.
    near = [_near(db[j], 3, rng) for j in range(20)]
    batched = index.query_many([np.packbits(q).tobytes() for q in near], radius)
    assert [dict(got) for got in batched] == [_brute(db, ids, q, radius) for q in near]


def test_query_returns_best_distance_per_id() -> None:
    index = HashIndex(64)
    index.add([7, 7, 9], [b"\x00" * 8, b"\x01" + b"\x00" * 7, b"\x03" + b"\x00" * 7])
    assert index.query(b"\x01" + b"\x00" * 7, 4) == [(7, 0), (9, 1)]


def test_remove_drops_every_hash_of_an_id_without_rebuild() -> None:
    db = _random_hashes(20_000, 64, seed=3)
    index = HashIndex(64, tail_rows=4_000)
    index.add(list(range(len(db))), [np.packbits(h).tobytes() for h in db])
    first = np.packbits(db[10]).tobytes()
    assert index.query(first, 0) == [(10, 0)]
    index.remove([10, 11, 999_999])
    assert index.query(first, 0) == []
    assert len(index) == len(db) - 2
    # Adding again after removal brings it back.
    index.add([10], [first])
    assert index.query(first, 0) == [(10, 0)]


def test_remove_most_rows_compacts_and_stays_correct() -> None:
    db = _random_hashes(10_000, 64, seed=4)
    index = HashIndex(64, tail_rows=1_000)
    index.add(list(range(len(db))), [np.packbits(h).tobytes() for h in db])
    index.remove(list(range(9_000)))
    assert len(index) == 1_000
    for j in (0, 8_999, 9_000, 9_999):
        expected = [] if j < 9_000 else [(j, 0)]
        assert index.query(np.packbits(db[j]).tobytes(), 0) == expected


def test_compaction_puts_the_live_rows_back_into_the_tables() -> None:
    # 30k live rows left in the tail would be scanned by every query (0.56 -> 3.7 ms).
    db = _random_hashes(100_000, 64, seed=5)
    index = HashIndex(64)
    index.add(list(range(len(db))), [np.packbits(h).tobytes() for h in db])
    index.remove(list(range(70_000)))
    assert len(index) == 30_000 and index._main == index._n == 30_000
    assert index.query(np.packbits(db[99_999]).tobytes(), 0) == [(99_999, 0)]


def test_query_many_keeps_order() -> None:
    index = HashIndex(64)
    index.add([1, 2], [b"\x00" * 8, b"\xff" * 8])
    assert index.query_many([b"\xff" * 8, b"\x00" * 8], 0) == [[(2, 0)], [(1, 0)]]


def test_index_refuses_wrong_lengths() -> None:
    index = HashIndex(256)
    with pytest.raises(ValueError):
        index.add([1], [b"\x00" * 8])
    with pytest.raises(ValueError):
        index.add([1, 2], [b"\x00" * 32])
    with pytest.raises(ValueError):
        HashIndex(60)


def _hashes(phash: bytes, pdq: bytes, quality: int = 100) -> PhotoHashes:
    return PhotoHashes(sha256="0" * 64, phash=phash, pdq=pdq, pdq_quality=quality,
                       phash_variants=(), pdq_variants=())


def _flip(h: bytes, n: int) -> bytes:
    value = int.from_bytes(h, "big") ^ ((1 << n) - 1)
    return value.to_bytes(len(h), "big")


# The joint rule as a policy turns it on (the defaults leave it off).
JOINT = MatchThresholds(joint_phash_max_distance=11, joint_pdq_max_distance=70)


@pytest.mark.parametrize(
    ("phash_flips", "pdq_flips", "quality", "expected"),
    [
        (0, 0, 100, [Match(1, "pdq", 0)]),  # identical: PDQ alone decides
        (20, 31, 100, [Match(1, "pdq", 31)]),  # PDQ at its limit, pHash far
        (8, 100, 100, [Match(1, "phash", 8)]),  # pHash at its limit, PDQ far
        (11, 60, 100, [Match(1, "phash+pdq", 60)]),  # neither alone, both within joint limits
        (11, 90, 100, []),  # pHash joint-close but PDQ too far
        (12, 60, 100, []),  # PDQ joint-close but pHash too far
        (11, 0, 30, []),  # low-quality PDQ does not vote
    ],
)
def test_match_photo_applies_thresholds(phash_flips, pdq_flips, quality, expected) -> None:
    bank = _hashes(b"\x00" * 8, b"\x00" * 32)
    phash_index, pdq_index = HashIndex(64), HashIndex(256)
    index_photos([(1, bank)], phash_index, pdq_index)
    query = _hashes(_flip(bank.phash, phash_flips), _flip(bank.pdq, pdq_flips), quality)
    assert match_photo(query, phash_index, pdq_index, JOINT) == expected


def test_joint_rule_is_off_by_default() -> None:
    bank = _hashes(b"\x00" * 8, b"\x00" * 32)
    phash_index, pdq_index = HashIndex(64), HashIndex(256)
    index_photos([(1, bank)], phash_index, pdq_index)
    query = _hashes(_flip(bank.phash, 9), _flip(bank.pdq, 40))
    assert match_photo(query, phash_index, pdq_index, JOINT) == [Match(1, "phash+pdq", 40)]
    assert match_photo(query, phash_index, pdq_index, MatchThresholds()) == []


def test_index_photo_leaves_out_low_quality_pdq() -> None:
    phash_index, pdq_index = HashIndex(64), HashIndex(256)
    index_photos([(1, _hashes(b"\x00" * 8, b"\x00" * 32, quality=20))], phash_index, pdq_index)
    assert len(phash_index) == 1 and len(pdq_index) == 0


def test_thresholds_refuse_out_of_range_values() -> None:
    with pytest.raises(ValueError):
        MatchThresholds(phash_max_distance=65)
    with pytest.raises(ValueError):
        MatchThresholds(pdq_min_quality=101)


def test_distances_looks_up_ids_in_main_tables_and_tail() -> None:
    db = _random_hashes(3_000, 256, seed=5)
    index = HashIndex(256, tail_rows=1_000)
    hashes = [np.packbits(h).tobytes() for h in db]
    index.add([i // 3 for i in range(len(db))], hashes)  # 3 hashes per id; last rows stay in the tail
    q = [hashes[30], hashes[2_999]]
    got = index.distances([10, 999, 5_000], q)
    assert got == {10: 0, 999: 0}
    index.remove([10])
    assert index.distances([10], q) == {}


def test_bank_match_ranks_pdq_and_phash_matches_by_similarity_not_raw_distance() -> None:
    # Entry 1 is 8 of 64 pHash bits away (0.875), entry 2 is 10 of 256 PDQ bits (0.96):
    # the reason must name entry 2, the nearer one.
    from moderation.config import DEFAULT_POLICY
    from moderation.photos.banks import BankEntry, BankIndex
    from moderation.policy import load_policy

    query = _hashes(b"\x00" * 8, b"\x00" * 32)
    far_phash, far_pdq = b"\xff" * 8, b"\xff" * 32
    bank = BankIndex()
    bank.add([BankEntry(1, "banned", "a", None, _flip(query.phash, 8), far_pdq),
              BankEntry(2, "banned", "b", None, far_phash, _flip(query.pdq, 10))])
    matches = bank.match(query, MatchThresholds())
    assert [(m.entry_id, m.hash_type, m.distance) for m in matches] == [(2, "pdq", 10), (1, "phash", 8)]
    [reason] = load_policy(DEFAULT_POLICY).bank_reasons(matches, "someone")
    assert reason.entry_id == 2 and reason.score == pytest.approx(1 - 10 / 256)

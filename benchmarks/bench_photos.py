"""Photo path without the nudity model: validate, decode, SHA-256, pHash, PDQ, index lookup.

Run: `.venv/bin/python -m pytest benchmarks/bench_photos.py --benchmark-only`
Quick (CI): `MODERATION_BENCH_QUICK=1 ...` (smaller bank, fewer photos).
Ours: `decode` (DCT-scaled JPEG draft in gray, as a worker decodes for a context without a
model check, kept unresized when within 0.6-1x of 512 px; PDQ computed for the full-size
photo) + `compute_hashes` (plain + dihedral + content-box + crop variants) + `match_photo`
against indexes of the bank. Naive: full Pillow decode,
`imagehash.phash` and `pdqhash.compute` on the full image, numpy linear scan of the bank.
Seeded synthetic JPEGs: smooth colour noise plus grain, so file sizes are photo-like.
One process, one thread: the figures are per core.
"""

from __future__ import annotations

import hashlib
import io

import imagehash
import numpy as np
import pdqhash
import pytest
from benchkit import QUICK, record
from images import encode, photo_array
from PIL import Image

from moderation.photos.decode import decode
from moderation.photos.hashing import compute_hashes
from moderation.photos.index import HashIndex, MatchThresholds, match_photo

SEED = 7
BANK = 20_000 if QUICK else 1_000_000
N_PHOTOS = 4 if QUICK else 12
print(f"bench_photos seed={SEED} bank={BANK} photos={N_PHOTOS} quick={QUICK}")


def _jpeg(width: int, height: int, seed: int) -> bytes:
    return encode(photo_array(width, height, seed, cell=48, grain=6), quality=85)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Per core means one thread: numpy's OpenBLAS would otherwise use both cores (as a worker does not)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def bank():
    rng = np.random.default_rng(SEED)
    phashes = rng.integers(0, 256, (BANK, 8), dtype=np.uint8)
    pdqs = rng.integers(0, 256, (BANK, 32), dtype=np.uint8)
    phash_index, pdq_index = HashIndex(64), HashIndex(256)
    phash_index.add(range(BANK), [r.tobytes() for r in phashes])
    pdq_index.add(range(BANK), [r.tobytes() for r in pdqs])
    return phash_index, pdq_index, phashes.view(np.uint64), pdqs.view(np.uint64)


def _ours(photos, bank):
    phash_index, pdq_index, _, _ = bank
    thresholds = MatchThresholds()

    def run():
        for data in photos:
            hashes = compute_hashes(data, decode(data, mode="L"))
            match_photo(hashes, phash_index, pdq_index, thresholds)
    return run


def _naive(photos, bank):
    _, _, phash_words, pdq_words = bank

    def run():
        for data in photos:
            hashlib.sha256(data).hexdigest()
            image = Image.open(io.BytesIO(data)).convert("RGB")  # full decode
            ph = np.packbits(imagehash.phash(image).hash.ravel()).view(np.uint64)
            pdq = np.packbits(pdqhash.compute(np.asarray(image))[0].astype(np.uint8)).view(np.uint64)
            # Linear scans of the bank.
            np.flatnonzero(np.bitwise_count(phash_words ^ ph).sum(axis=1) <= 8)
            np.flatnonzero(np.bitwise_count(pdq_words ^ pdq).sum(axis=1) <= 31)
    return run


def _photos(megapixels: int) -> list[bytes]:
    size = (1728, 1152) if megapixels == 2 else (4000, 3000)
    return [_jpeg(*size, SEED + i) for i in range(N_PHOTOS)]


@pytest.mark.parametrize("megapixels", [2, 12])
@pytest.mark.benchmark(group="photo-path")
def test_photo_path_ours(benchmark, bank, megapixels) -> None:
    photos = _photos(megapixels)
    benchmark.pedantic(_ours(photos, bank), rounds=5, warmup_rounds=1)
    record(benchmark, f"photo-path-{megapixels}mp", "ours", N_PHOTOS)
    benchmark.extra_info.update(bank=BANK, mean_jpeg_kb=sum(map(len, photos)) / len(photos) / 1e3)


@pytest.mark.parametrize("megapixels", [2, 12])
@pytest.mark.benchmark(group="photo-path")
def test_photo_path_naive(benchmark, bank, megapixels) -> None:
    benchmark.pedantic(_naive(_photos(megapixels), bank), rounds=2, warmup_rounds=0)
    record(benchmark, f"photo-path-{megapixels}mp", "naive", N_PHOTOS)
    benchmark.extra_info.update(bank=BANK)

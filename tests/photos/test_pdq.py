"""Our numpy PDQ is Meta's PDQ: bit for bit on the same pixels, and closer to it from a DCT-scaled decode."""

from __future__ import annotations

import io

import numpy as np
import pdqhash
import pytest
from images import encode, photo_array
from PIL import Image

from moderation.photos.hashing import hamming
from moderation.photos.pdq import pdq_dihedral, sample_weights, window


def _reference(rgb: np.ndarray) -> tuple[list[bytes], int]:
    hashes, quality = pdqhash.compute_dihedral(rgb)
    return [np.packbits(np.asarray(h, dtype=np.uint8)).tobytes() for h in hashes], int(quality)


@pytest.mark.parametrize(("width", "height", "seed"), [(512, 384, 1), (301, 457, 2), (640, 640, 3), (97, 65, 4)])
def test_all_eight_hashes_and_quality_equal_pdqhash_on_the_same_pixels(width: int, height: int, seed: int) -> None:
    rgb = photo_array(width, height, seed)
    ours, quality = pdq_dihedral(rgb)
    ref, ref_quality = _reference(rgb)
    assert quality == ref_quality
    assert [hamming(a, b) for a, b in zip(ours, ref)] == [0] * 8


def test_flat_image_has_quality_zero_like_pdqhash() -> None:
    rgb = np.full((200, 300, 3), 128, dtype=np.uint8)
    assert pdq_dihedral(rgb)[1] == _reference(rgb)[1] == 0


def test_image_under_five_pixels_hashes_to_zero_with_quality_zero() -> None:
    assert pdq_dihedral(np.zeros((4, 40, 3), dtype=np.uint8)) == ([bytes(32)] * 8, 0)


def test_filter_weights_sum_to_one_at_every_sample_for_any_decode_scale() -> None:
    # Each of the 64 samples is a weighted mean of the pixels, whatever the scale.
    for full, small in [(1224, 1224), (1224, 306), (4000, 500), (600, 512), (50, 50)]:
        weights = sample_weights(full, small)
        assert weights.shape == (64, small)
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)
        assert (weights > -1e-9).all()  # (float residue of the running sums, no real negatives)
    assert window(1632) == 13 and window(408) == 4


def test_dct_scaled_decode_hashed_at_full_size_is_closer_to_the_full_decode_hash() -> None:
    # A 1/4-scale decode hashed as the full-size photo (weights of the full-size filter)
    # against hashing the small pixels as if they were the photo: measured on 6 photos.
    full_dists, plain_dists = [], []
    for seed in range(6):
        data = encode(photo_array(1632, 1224, seed), "JPEG", quality=88)
        full = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        reference = _reference(full)[0][0]
        image = Image.open(io.BytesIO(data))
        image.draft("RGB", (408, 306))
        small = np.asarray(image.convert("RGB"))
        assert small.shape[:2] == (306, 408)
        full_dists.append(hamming(pdq_dihedral(small, (1632, 1224))[0][0], reference))
        plain_dists.append(hamming(pdq_dihedral(small)[0][0], reference))
    assert max(full_dists) <= 10  # upstream's conformance rule against the C++ reference
    assert sum(full_dists) < sum(plain_dists)


@pytest.mark.parametrize(("width", "height", "k"), [(1632, 1224, 4), (1633, 1225, 4), (1001, 803, 2), (4003, 2999, 8)])
def test_photo_made_of_k_by_k_blocks_hashes_the_same_from_its_blocks(width: int, height: int, k: int) -> None:
    # What a 1/k DCT-scaled decode approximates: one pixel per block, the last block partial
    # when the side is not a multiple of k (libjpeg rounds the scaled size up).
    small = photo_array(-(-width // k), -(-height // k), 5)
    full = np.repeat(np.repeat(small, k, axis=0), k, axis=1)[:height, :width]
    assert hamming(pdq_dihedral(small, (width, height))[0][0], pdq_dihedral(full)[0][0]) <= 2
    assert pdq_dihedral(small, (width, height))[1] == pdq_dihedral(full)[1]


def test_wrong_shapes_and_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="RGB"):
        pdq_dihedral(np.zeros((40, 40, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match="smaller"):
        pdq_dihedral(np.zeros((300, 400, 3), dtype=np.uint8), (300, 400))  # width and height swapped

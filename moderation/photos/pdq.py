"""PDQ (Meta's 256-bit perceptual hash) in a few numpy matrix products, from any decode scale.

Why not just call `pdqhash` (Meta's C++ code, which the tests and the naive benchmark
still use as the reference): it filters every pixel of the image it is given four times
with running sums, which costs 3 ms for a 408 x 306 image and 13 ms for 816 x 612 here,
more than decoding the JPEG. PDQ only ever reads 64 x 64 samples of that filtered image,
and its filter is linear and separable, so the same numbers come out of

    A = R @ Y @ C.T        (64 x 64)

where Y is the luminance, and R and C are the rows of the filter matrices at the sample
positions: one matrix product over the pixels, about 0.2 ms for 408 x 306.

The matrices also let a DCT-scaled decode stand in for the full-size photo. The reference
hashes the full-resolution pixels with box windows sized for them (1/128 of each side,
two passes). We build R and C for the *full* size and sum their weights over the full
pixels that each decoded pixel covers (a 1/4-scale decode's pixel is about the mean of
a 4 x 4 block), so a 408-px decode of a 1632-px photo is filtered as the 1632-px photo
would be, instead of with a window sized for 408 px. Measured against Meta's reference
vectors in tests/photos/test_pdq.py.

The rest follows the reference (ThreatExchange pdq/cpp/hashing/pdqhashing.cpp):
luminance 0.299 R + 0.587 G + 0.114 B; 64 x 64 samples at the pixel centres of a 64 x 64
grid; the quality metric from the samples' gradients; the DCT rows 1..16 (DC skipped);
a bit for each of the 16 x 16 coefficients above their median; the 7 other dihedral
hashes from sign flips and a transpose of the same 16 x 16 coefficients.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

SAMPLES = 64  # PDQ's downsampled grid
MIN_SIDE = 5  # the reference returns an all-zero hash, quality 0, below this
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# DCT-II rows 1..16 of a 64-point signal, scaled as the reference scales them.
_DCT = (
    np.sqrt(2.0 / SAMPLES)
    * np.cos(np.pi / (2 * SAMPLES) * np.arange(1, 17)[:, None] * (2 * np.arange(SAMPLES)[None, :] + 1))
).astype(np.float32)
# Sign patterns of the dihedral transforms on the 16 x 16 coefficients: index k of the
# arrays is frequency k + 1, which changes sign under a mirror when k + 1 is odd.
_EVEN_FREQ = np.where(np.arange(16) % 2 == 1, 1.0, -1.0).astype(np.float32)  # +1 where k + 1 is even
_ROW_SIGN = _EVEN_FREQ[:, None] * np.ones((1, 16), np.float32)
_COL_SIGN = _ROW_SIGN.T.copy()
_BOTH_SIGN = _ROW_SIGN * _COL_SIGN


def window(length: int) -> int:
    """The reference's box window for one side: 1/128 of it, rounded up."""
    return (length + 2 * SAMPLES - 1) // (2 * SAMPLES)


@lru_cache(maxsize=512)
def sample_weights(full: int, small: int) -> np.ndarray:
    """[64, small] float32: the two box-filter passes of the reference along one side of
    `full` pixels, read at its 64 sample positions, as weights on `small` pixels that each
    stand for full / small of the full side. Cached: photo sizes repeat."""
    w = window(full)
    half = (w + 2) // 2
    # One pass: output o is the mean of inputs [lo[o], hi[o]), the window shrinking at the edges.
    o = np.arange(full)
    lo = np.maximum(0, o - (w - half))
    hi = np.minimum(full, o + half)
    # Sample positions: the pixel under the centre of each of the 64 cells.
    at = ((np.arange(SAMPLES) + 0.5) * full / SAMPLES).astype(np.int64)
    # Second pass at a sample = mean of first-pass outputs r in [lo, hi); each of those is
    # a box over the input: accumulate every box as +/- steps, then one cumulative sum.
    steps = np.arange(w)
    r = lo[at][:, None] + steps[None, :]  # [64, w] first-pass outputs read by each sample
    valid = r < hi[at][:, None]
    r = np.where(valid, r, 0)
    weight = np.where(valid, 1.0 / (hi[at] - lo[at])[:, None] / (hi[r] - lo[r]), 0.0)
    rows = np.broadcast_to(np.arange(SAMPLES)[:, None], r.shape)
    diff = np.zeros((SAMPLES, full + 1))
    np.add.at(diff, (rows, lo[r]), weight)
    np.add.at(diff, (rows, hi[r]), -weight)
    per_pixel = np.cumsum(diff, axis=1)[:, :full]  # [64, full]
    if small == full:
        return per_pixel.astype(np.float32)
    # Small pixel i covers [i * s, (i + 1) * s) of the full side: integrate the piecewise
    # constant weights over it (a cumulative sum read at fractional positions).
    total = np.concatenate([np.zeros((SAMPLES, 1)), np.cumsum(per_pixel, axis=1)], axis=1)
    edges = np.arange(small + 1) * (full / small)
    base = np.minimum(edges.astype(np.int64), full)
    frac = edges - base
    padded = np.concatenate([per_pixel, np.zeros((SAMPLES, 1))], axis=1)
    at_edges = total[:, base] + frac * padded[:, base]
    return np.diff(at_edges, axis=1).astype(np.float32)


def quality(samples: np.ndarray) -> int:
    """The reference's quality (0..100): significant gradients between neighbouring samples."""
    s = samples.astype(np.float32)
    # (int)((u - v) * 100 / 255): truncated toward zero, then summed in absolute value
    down = np.trunc((s[:-1, :] - s[1:, :]) * np.float32(100) / np.float32(255))
    across = np.trunc((s[:, :-1] - s[:, 1:]) * np.float32(100) / np.float32(255))
    total = int(np.abs(down).sum() + np.abs(across).sum())
    return min(total // 90, 100)


def _bits(coefficients: np.ndarray) -> bytes:
    # A bit for each coefficient above the median (the 128th smallest, as the reference's
    # Torben median returns); bit i * 16 + j, printed most significant first.
    flat = coefficients.reshape(256)
    median = np.partition(flat, 127)[127]
    return np.packbits((flat > median)[::-1]).tobytes()


def pdq_dihedral(rgb: np.ndarray, full_size: tuple[int, int] | None = None) -> tuple[list[bytes], int]:
    """PDQ hashes (32 bytes each) of an RGB image and of its 7 dihedral transforms, and its quality.

    Order as `pdqhash.compute_dihedral`: original, rotate 90, 180, 270, flip x, flip y,
    flip +1 (transpose), flip -1. `full_size` (width, height) is the size of the photo the
    pixels were decoded down from; the hash is then that photo's hash, not the small one's.
    """
    height, width = rgb.shape[:2]
    full_w, full_h = full_size or (width, height)
    full_w, full_h = max(full_w, width), max(full_h, height)
    if min(full_w, full_h) < MIN_SIDE or min(width, height) < 1:
        return [bytes(32)] * 8, 0
    luma = rgb.reshape(-1, 3).astype(np.float32) @ _LUMA if rgb.ndim == 3 else rgb.astype(np.float32)
    luma = luma.reshape(height, width)
    # The filtered, decimated 64 x 64 image: two matrix products instead of four passes.
    samples = sample_weights(full_h, height) @ luma @ sample_weights(full_w, width).T
    coeffs = _DCT @ samples @ _DCT.T  # [16, 16], frequencies 1..16
    t = coeffs.T
    variants = [
        coeffs,
        (coeffs * _COL_SIGN).T,  # rotate 90
        coeffs * _BOTH_SIGN,  # rotate 180
        (coeffs * _ROW_SIGN).T,  # rotate 270
        coeffs * _ROW_SIGN,  # flip x
        coeffs * _COL_SIGN,  # flip y
        t,  # flip +1 (transpose)
        (coeffs * _BOTH_SIGN).T,  # flip -1
    ]
    return [_bits(v) for v in variants], quality(samples)

"""PDQ (Meta's 256-bit perceptual hash) in a few numpy matrix products, from any decode scale.

Why not just call `pdqhash` (Meta's C++ code, which the tests and the naive benchmark
still use as the reference): it filters every pixel of the image it is given four times
with running sums, which costs 3 ms for a 408 x 306 image and 13 ms for 816 x 612 here,
more than decoding the JPEG. PDQ only ever reads 64 x 64 samples of that filtered image,
and its filter is linear and separable, so the same numbers come out of

    A = R @ Y @ C.T        (64 x 64)

where Y is the luminance, and R and C are the rows of the filter matrices at the sample
positions. Each row of R and C is a short band (a sample reads about two windows of
pixels), so the products are sums over those bands: about 0.08 ms for 432 x 288.

The matrices also let a DCT-scaled decode stand in for the full-size photo. The reference
hashes the full-resolution pixels with box windows sized for them (1/128 of each side,
two passes). We build R and C for the *full* size and sum their weights over the full
pixels that each decoded pixel covers (a 1/4-scale decode's pixel is about the mean of
a 4 x 4 block), so a 408-px decode of a 1632-px photo is filtered as the 1632-px photo
would be, instead of with a window sized for 408 px. Measured against Meta's reference
vectors in tests/photos/test_pdq.py.

Bit for bit: on photos, the same bits as `pdqhash` on the same pixels (tests/photos/test_pdq.py);
a coefficient that lands on the median can flip a bit (2 bits on 2 of 300 random images).
Images whose DCT coefficients are zero in theory (flat along one axis, mirror-symmetric,
a side of 8 or 16 pixels) hash float noise in both implementations, and the noises differ:
such images are not photos, and Meta's implementations disagree among themselves there.

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


def sample_weights(full: int, small: int) -> np.ndarray:
    """[64, small] float32: the two box-filter passes of the reference along one side of
    `full` pixels, read at its 64 sample positions, as weights on the `small` pixels that
    stand for that side (see `_edges`). Each sample reads only about 2 windows of pixels,
    so the work is per sample, not per pixel: ~0.2 ms for any size. Cached by `_band`."""
    w = window(full)
    half = (w + 2) // 2
    # One pass: output o is the mean of inputs [lo[o], hi[o]), the window shrinking at the edges.
    o = np.arange(full)
    lo = np.maximum(0, o - (w - half))
    hi = np.minimum(full, o + half)
    # Sample positions: the pixel under the centre of each of the 64 cells. The second pass
    # there is the mean of first-pass outputs [first_lo, first_hi), each a box over the input.
    at = ((np.arange(SAMPLES) + 0.5) * full / SAMPLES).astype(np.int64)
    first_lo, first_hi = lo[at], hi[at]
    start = lo[first_lo]  # the first full pixel a sample reads; it reads fewer than `span` from there
    span = int((hi[first_hi - 1] - start).max())
    r = first_lo[:, None] + np.arange(w)[None, :]
    valid = r < first_hi[:, None]
    r = np.where(valid, r, first_lo[:, None])
    weight = np.where(valid, 1.0 / (first_hi - first_lo)[:, None] / (hi[r] - lo[r]), 0.0)
    rows = np.broadcast_to(np.arange(SAMPLES)[:, None], r.shape)
    # Every box as a +/- step at its ends, then a cumulative sum: weights of full pixels start + k.
    steps = np.zeros((SAMPLES, span + 1))
    np.add.at(steps, (rows, lo[r] - start[:, None]), weight)
    np.add.at(steps, (rows, hi[r] - start[:, None]), -weight)
    per_pixel = np.cumsum(steps, axis=1)  # [64, span + 1], the last column 0
    # Integrate over each small pixel's stretch of the full side: the running sum of the
    # piecewise constant weights, read at the stretches' (possibly fractional) edges.
    edges = _edges(full, small)
    running = np.concatenate([np.zeros((SAMPLES, 1)), np.cumsum(per_pixel[:, :span], axis=1)], axis=1)
    first = np.searchsorted(edges, start, side="right") - 1  # the small pixel holding `start`
    count = int((np.searchsorted(edges, start + span, side="left") - first).max())
    index = np.minimum(first[:, None] + np.arange(count + 1)[None, :], small)
    x = np.clip(edges[index] - start[:, None], 0, span)
    base = np.floor(x).astype(np.int64)
    value = np.take_along_axis(running, base, 1) + (x - base) * np.take_along_axis(per_pixel, base, 1)
    out = np.zeros((SAMPLES, small + 1))  # the extra column takes the stretches past the last pixel
    out[np.arange(SAMPLES)[:, None], np.minimum(first[:, None] + np.arange(count)[None, :], small)] = np.diff(value, axis=1)
    return out[:, :small].astype(np.float32)


@lru_cache(maxsize=512)
def _band(full: int, small: int) -> tuple[np.ndarray, np.ndarray]:
    """`sample_weights` as bands: [64, k] pixel indices and their weights, k the widest band."""
    weights = sample_weights(full, small)
    nonzero = weights != 0
    first = nonzero.argmax(axis=1)
    last = small - nonzero[:, ::-1].argmax(axis=1)
    k = max(1, int((last - first).max()))
    at = first[:, None] + np.arange(k)[None, :]
    inside = at < small
    at = np.minimum(at, small - 1)
    return at, np.where(inside, np.take_along_axis(weights, at, 1), 0.0).astype(np.float32)


def _edges(full: int, small: int) -> np.ndarray:
    """Where each of `small` pixels starts and ends on the `full` side ([small + 1] floats).

    A libjpeg DCT-scaled decode at 1/k makes pixel i of block [i k, (i + 1) k), the last
    one partial (the size rounds up); anything else (a resize) spreads pixels evenly.
    """
    for k in (2, 4, 8):
        if small != full and -(-full // k) == small:
            return np.minimum(np.arange(small + 1) * k, full).astype(np.float64)
    return np.arange(small + 1) * (full / small)


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
    flip +1 (transpose), flip -1. `rgb` is [height, width, 3] uint8 (or [height, width]
    luminance). `full_size` (width, height) is the size of the photo the pixels were
    decoded down from; the hash is then that photo's hash, not the small one's.
    """
    if not (rgb.ndim == 2 or (rgb.ndim == 3 and rgb.shape[2] == 3)):
        raise ValueError(f"expected [height, width, 3] RGB or [height, width] luminance, got shape {rgb.shape}")
    height, width = rgb.shape[:2]
    full_w, full_h = full_size or (width, height)
    if full_w < width or full_h < height:
        raise ValueError(f"full size {full_w}x{full_h} is smaller than the {width}x{height} pixels given")
    if min(full_w, full_h) < MIN_SIDE or min(width, height) < 1:
        return [bytes(32)] * 8, 0
    luma = rgb.reshape(-1, 3).astype(np.float32) @ _LUMA if rgb.ndim == 3 else np.asarray(rgb, dtype=np.float32)
    luma = luma.reshape(height, width)
    # The filtered, decimated 64 x 64 image: two weighted sums instead of four passes.
    # Each sample reads a few pixels per side (5 for a 1/4-scale 2 MP decode), so the
    # sums go over those bands, not over whole rows: 0.08 ms instead of 0.25 for 432 x 288.
    row_at, row_w = _band(full_h, height)
    col_at, col_w = _band(full_w, width)
    across = np.einsum("ik,ikw->iw", row_w, luma[row_at])  # [64, width]
    samples = np.einsum("jk,ijk->ij", col_w, across[:, col_at])  # [64, 64]
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

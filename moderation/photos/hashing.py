"""Exact and perceptual hashes of a decoded photo, with the variants that make re-uploads match.

Signals:
* SHA-256 of the raw bytes: the exact re-upload.
* pHash (64 bit), computed as `imagehash.phash` computes it (gray, Lanczos to 32x32, 2-D
  DCT-II, low 8x8 block against its median), but on the decoded work image, and without
  the thumbnail: Pillow's Lanczos weights and the DCT as matrix products (`low_dcts`).
* PDQ (256 bit) and its quality (`moderation.photos.pdq`: bit for bit what the `pdqhash`
  package computes on the same luminance, in weighted sums), from the 8-bit gray work
  image, hashed as the full-size photo would be even though only the DCT-scaled work
  image was decoded (within the upstream conformance rule of <= 10 bits of the C++
  reference on its test vectors).

Variants, which a bank is indexed under and queried with, because no single hash survives
these edits (measured on the development set, see `moderation.photos.evaluate`):
* the 7 other dihedral transforms (mirror, 90/180/270 rotations): a flipped re-upload;
* the content box: the photo with uniform borders and flat UI around it cut away
  (a padded photo, a photo inside a screenshot);
* central crops of 5 % and 10 % per side (pHash only): a cropped re-upload of a banked
  photo lands on the bank's crop variant.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

from moderation.photos.decode import DecodeLimits, Photo, decode
from moderation.photos.pdq import pdq_dihedral

# Fractions removed from every side for the central-crop variants.
CROP_FRACTIONS: tuple[float, ...] = (0.05, 0.10)
# Variants beyond the dihedral ones are hashed at this size: PDQ cost grows with pixels and
# these hashes are only compared with hashes made the same way.
VARIANT_SIZE = 256
# The 8 lowest rows of the unnormalised 32-point DCT-II matrix (scipy.fftpack's default:
# y_k = 2 * sum_n x_n cos(pi k (2n + 1) / 64)).
_DCT8 = 2.0 * np.cos(np.pi * np.arange(8)[:, None] * (2 * np.arange(32)[None, :] + 1) / 64)
# (-1)^k on the row frequency, the column frequency, and both.
_SIGN_ROWS = np.where(np.arange(8)[:, None] % 2, -1.0, 1.0) * np.ones((1, 8))
_SIGN_COLS = _SIGN_ROWS.T.copy()
_SIGN_BOTH = _SIGN_ROWS * _SIGN_COLS
# Share of changing neighbour steps above which a row or column counts as photo, not UI.
BUSY_FRACTION = 0.3


@dataclass(frozen=True)
class PhotoHashes:
    """Every hash of one photo; the *_variants are extra hashes, never the primary one."""

    sha256: str
    phash: bytes
    pdq: bytes
    pdq_quality: int
    phash_variants: tuple[bytes, ...]
    pdq_variants: tuple[bytes, ...]
    # The variants that are not flips or rotations (border-trimmed, centre crops), also in
    # *_variants. Banks index every variant; a query needs only these besides the primary
    # hash, since a flipped upload already meets its original's flipped variants.
    phash_extra: tuple[bytes, ...] = ()
    pdq_extra: tuple[bytes, ...] = ()

    @property
    def all_phashes(self) -> tuple[bytes, ...]:
        return (self.phash, *self.phash_variants)

    @property
    def all_pdqs(self) -> tuple[bytes, ...]:
        return (self.pdq, *self.pdq_variants)

    @property
    def query_phashes(self) -> tuple[bytes, ...]:
        return (self.phash, *self.phash_extra)

    @property
    def query_pdqs(self) -> tuple[bytes, ...]:
        return (self.pdq, *self.pdq_extra)


def hash_upload(data: bytes, limits: DecodeLimits) -> PhotoHashes:
    """The hashes of an upload no model looks at (a bank photo, an evaluation file): a gray
    decode is all the hashes read."""
    return compute_hashes(data, decode(data, limits, "L"))


def hamming(a: bytes, b: bytes) -> int:
    """Bits that differ between two equal-length hashes."""
    if len(a) != len(b):
        raise ValueError(f"hashes of different lengths: {len(a)} and {len(b)} bytes")
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()


def compute_hashes(data: bytes, photo: Photo) -> PhotoHashes:
    """Hash one decoded photo (`data` is the raw upload, for SHA-256)."""
    # Every hash reads the 8-bit gray (a gray decode is already that).
    gray = photo.image if photo.image.mode == "L" else photo.image.convert("L")
    pixels = np.asarray(gray)
    luma = pixels.astype(np.float32)
    # PDQ of the photo at its full size, from the work image, and its 7 dihedral siblings
    # for free (sign flips of the DCT). From the 8-bit gray, whatever the decode: PDQ's
    # luma is the same ITU-R 601 weighting, rounded, so a colour and a gray decode hash alike.
    pdqs, quality = pdq_dihedral(luma, (photo.width, photo.height))

    # pHash boxes: the whole image, the content box (the photo inside flat borders or a
    # screenshot) and the central crops (a cropped re-upload lands on a banked crop).
    height, width = pixels.shape
    boxes = [(0, 0, width, height)]
    extra_pdq: list[bytes] = []
    box = _content_box(pixels)
    if box is not None:
        boxes.append(box)
        extra_pdq.append(pdq_dihedral(_small(gray.crop(box)))[0][0])
    # Central crops: pHash only. PDQ of the crops added no recall on the development set
    # and cost more than the rest of the hashing together.
    for fraction in CROP_FRACTIONS:
        dx, dy = round(width * fraction), round(height * fraction)
        boxes.append((dx, dy, width - dx, height - dy))
    lows = low_dcts(luma, boxes)
    # The whole image's pHash and its dihedral siblings from the same DCT (sign flips and
    # a transpose), as pdqhash does: one DCT, eight hashes. The boxes' plain pHash.
    phashes = _dihedral_phashes(lows[0])
    extra_phash = [bits8(low) for low in lows[1:]]
    return PhotoHashes(
        sha256=hashlib.sha256(data).hexdigest(),
        phash=phashes[0],
        pdq=pdqs[0],
        pdq_quality=int(quality),
        phash_variants=_unique(phashes[1:] + extra_phash, exclude=phashes[0]),
        pdq_variants=_unique(pdqs[1:] + extra_pdq, exclude=pdqs[0]),
        phash_extra=_unique(extra_phash, exclude=phashes[0]),
        pdq_extra=_unique(extra_pdq, exclude=pdqs[0]),
    )


def bits8(low: np.ndarray) -> bytes:
    # One bit per coefficient of the 8x8 block: above the block's median.
    return np.packbits(low > _median64(low.reshape(1, 64))).tobytes()


def _median64(blocks: np.ndarray) -> np.ndarray:
    """np.median of each row of [n, 64], as [n, 1]: the mean of the 32nd and 33rd smallest
    (np.median's Python layers cost more than the partition on 64 numbers)."""
    middle = np.partition(blocks, (31, 32), axis=1)[:, 31:33]
    return middle.mean(axis=1, keepdims=True)


def low_dcts(luma: np.ndarray, boxes: list[tuple[int, int, int, int]]) -> list[np.ndarray]:
    """The low 8x8 DCT block of imagehash's pHash for each box of a gray image.

    imagehash resizes to 32x32 with Pillow's Lanczos, then takes a 2-D DCT-II
    (unnormalised, as scipy.fftpack's default) and keeps the lowest 8x8 frequencies. Both
    steps are linear and separable, so each box's block is L @ Y @ R.T with L, R the 8 DCT
    rows times the Lanczos weights (`_lanczos_dct`) and Y the box's pixels. Same weights
    as Pillow, without its rounding of the two
    resize passes to 8 bits: within 2 bits of imagehash on the same pixels, and no
    thumbnail per box (4 Pillow resizes cost 0.6 ms for a 2 MP photo's work image; this, 0.1).
    """
    return [_lanczos_dct(bottom - top) @ luma[top:bottom, left:right] @ _lanczos_dct(right - left).T
            for left, top, right, bottom in boxes]


@lru_cache(maxsize=1024)
def _lanczos_dct(length: int) -> np.ndarray:
    """[8, length] float32: the low DCT rows of a 32-point Lanczos resize of `length` pixels.

    The weights are Pillow's (Resample.c, precompute_coeffs): support 3 * scale, each
    output's taps normalised to sum 1. Cached by length (work images are at most 512 px
    a side, so at most ~1,000 entries of 16 KiB).
    """
    scale = length / 32
    filterscale = max(scale, 1.0)
    support = 3.0 * filterscale
    centers = (np.arange(32) + 0.5) * scale
    first = np.maximum((centers - support + 0.5).astype(np.int64), 0)  # C's (int) truncates: >= 0 here
    last = np.minimum((centers + support + 0.5).astype(np.int64), length)
    taps = int((last - first).max())
    x = first[:, None] + np.arange(taps)[None, :]
    t = (x - centers[:, None] + 0.5) / filterscale
    w = np.where((x < last[:, None]) & (t >= -3.0) & (t < 3.0), np.sinc(t) * np.sinc(t / 3.0), 0.0)
    w /= w.sum(axis=1, keepdims=True)
    weights = np.zeros((32, length))
    rows = np.broadcast_to(np.arange(32)[:, None], x.shape)
    valid = x < last[:, None]
    weights[rows[valid], x[valid]] = w[valid]
    return (_DCT8 @ weights).astype(np.float32)


def _dihedral_phashes(low: np.ndarray) -> list[bytes]:
    """pHashes of the 8 dihedral transforms of an image, from its low DCT block.

    Mirroring the rows (columns) of the input multiplies DCT-II row (column) frequency k
    by (-1)^k; transposing the input transposes the DCT. Same order as
    `pdqhash.compute_dihedral`: original, rot90, rot180, rot270, then the four flips.
    """
    lowt = low.T
    blocks = np.stack([
        low,
        _SIGN_ROWS * lowt,  # rot90: transpose, then rows reversed
        _SIGN_BOTH * low,  # rot180
        _SIGN_COLS * lowt,  # rot270: transpose, then columns reversed
        _SIGN_COLS * low,  # columns reversed (mirror)
        _SIGN_ROWS * low,  # rows reversed (flip)
        lowt,  # transpose
        _SIGN_BOTH * lowt,  # rot180, then transpose
    ]).reshape(8, 64)
    # One bit per coefficient: above its own block's median.
    bits = blocks > _median64(blocks)
    return [row.tobytes() for row in np.packbits(bits, axis=1)]


def content_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    """The box (left, top, right, bottom) of the photo inside flat surroundings, or None.

    Flat rows and columns (a uniform border, the plain background of an app screen, a
    status bar, a caption) have few pixel-to-pixel changes; a photo has many, even in a
    smooth sky, thanks to noise and compression. The photo is the longest run of busy
    rows, then the longest run of busy columns within it. None when that is (nearly)
    the whole image or too small to be a photo.
    """
    return _content_box(np.asarray(image.convert("L")))


def _content_box(gray: np.ndarray) -> tuple[int, int, int, int] | None:
    height, width = gray.shape
    if height < 32 or width < 32:
        return None
    # A row is busy when enough of its horizontal neighbour steps change the value
    # (0.3, any change: measured best on padded and screenshotted photos).
    # (Compared as uint8, not subtracted: "changes" is all that is asked.)
    rows_busy = np.count_nonzero(gray[:, 1:] != gray[:, :-1], axis=1) > BUSY_FRACTION * (width - 1)
    top, bottom = _longest_run(rows_busy)
    if bottom - top < height // 4:
        return None
    band = gray[top:bottom]
    cols_busy = np.count_nonzero(band[1:] != band[:-1], axis=0) > BUSY_FRACTION * (bottom - top - 1)
    left, right = _longest_run(cols_busy)
    if right - left < width // 4:
        return None
    # Nothing to gain when the box is the image, give or take a JPEG block of ringing.
    margin = max(2, min(width, height) // 32)
    if top <= margin and left <= margin and height - bottom <= margin and width - right <= margin:
        return None
    # One pixel of slack past the run (its last change reaches the next pixel), inside the image.
    return left, top, min(right + 1, width), min(bottom + 1, height)


def _longest_run(flags: np.ndarray) -> tuple[int, int]:
    """[start, end) of the longest run of True; (0, 0) when there is none."""
    padded = np.concatenate(([False], flags, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    if edges.size == 0:
        return 0, 0
    starts, ends = edges[0::2], edges[1::2]
    best = int(np.argmax(ends - starts))
    return int(starts[best]), int(ends[best])


def _small(image: Image.Image) -> np.ndarray:
    scale = min(1.0, VARIANT_SIZE / max(image.size))
    if scale < 1.0:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(image)


def _unique(hashes: list[bytes], exclude: bytes) -> tuple[bytes, ...]:
    seen = {exclude}
    out = []
    for h in hashes:
        if h not in seen:
            seen.add(h)
            out.append(h)
    return tuple(out)

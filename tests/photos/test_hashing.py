"""Hashes are the libraries' hashes, stable across decode paths, and variants catch re-uploads."""

from __future__ import annotations

import csv
import io

import imagehash
import numpy as np
import pdqhash
import pytest
from images import encode, photo_array
from PIL import Image, ImageOps
from servers import EVAL_DIR

from moderation.photos.decode import DecodeLimits, Photo, decode
from moderation.photos.hashing import PhotoHashes, compute_hashes, content_box, hamming


def _pattern() -> np.ndarray:
    """A deterministic synthetic image from closed-form functions (no RNG, no resize)."""
    y, x = np.mgrid[0:384, 0:512].astype(np.float64)
    r = 127.5 + 127.5 * np.sin(x / 37.0) * np.cos(y / 23.0)
    g = 255 * x / 511
    b = 127.5 + 127.5 * np.sin((x + 2 * y) / 61.0)
    return np.clip(np.stack([r, g, b], -1) + 0.5, 0, 255).astype(np.uint8)


def _photo(width: int, height: int, seed: int) -> Image.Image:
    """Photo-like: smooth colour noise plus grain, so JPEG sizes and hashes are realistic."""
    return Image.fromarray(photo_array(width, height, seed, cell=48, grain=6))


def _hashes(data: bytes) -> PhotoHashes:
    return compute_hashes(data, decode(data))


def _best(a: tuple[bytes, ...], b: tuple[bytes, ...]) -> int:
    return min(hamming(x, y) for x in a for y in b)


def test_golden_hashes_of_synthetic_image_are_pinned() -> None:
    # A library upgrade that changes stored hashes must fail here.
    data = encode(Image.fromarray(_pattern()), "PNG")
    h = _hashes(data)
    assert h.phash.hex() == "82b807b8e7f8f807"
    assert h.pdq.hex() == "fa0ffff0ea0ffff0a00ffff0800ffff0000ffff0000f000f5553000efff0000e"
    assert h.pdq_quality == 100
    assert len(h.sha256) == 64 and h.sha256 == __import__("hashlib").sha256(data).hexdigest()


def test_phash_equals_imagehash_on_same_pixels() -> None:
    image = Image.fromarray(_pattern())
    photo = Photo(image=image, width=512, height=384, format="PNG")
    assert compute_hashes(b"x", photo).phash.hex() == str(imagehash.phash(image))


@pytest.mark.parametrize("size", [(4000, 3000), (1728, 1152), (1920, 1080)])
def test_draft_decode_hashes_match_full_decode_of_jpeg(size: tuple[int, int]) -> None:
    # The DCT-scaled path (12 MP: 1/8, 500 px; 2 MP: 1/4, 432 / 480 px, kept without a
    # resize) must hash like the naive full decode, or banks built either way diverge.
    for seed in range(3):
        data = encode(_photo(*size, seed), quality=88)
        ours = _hashes(data)
        full = Image.open(io.BytesIO(data)).convert("RGB")
        naive_phash = bytes.fromhex(str(imagehash.phash(full)))
        naive_pdq = np.packbits(pdqhash.compute(np.asarray(full))[0].astype(np.uint8)).tobytes()
        assert hamming(ours.phash, naive_phash) <= 4
        assert hamming(ours.pdq, naive_pdq) <= 8  # measured 0 to 2: PDQ is hashed for the full-size photo


def test_hashes_survive_reencode_and_resize() -> None:
    original = _photo(1200, 800, 7)
    a = _hashes(encode(original, quality=92))
    b = _hashes(encode(original.resize((600, 400)), quality=60))
    assert hamming(a.phash, b.phash) <= 4
    assert hamming(a.pdq, b.pdq) <= 31


def test_unrelated_photos_are_far_apart() -> None:
    a, b = _hashes(encode(_photo(800, 600, 1))), _hashes(encode(_photo(800, 600, 2)))
    assert _best(a.all_phashes, b.all_phashes) > 14
    assert _best(a.all_pdqs, b.all_pdqs) > 70


@pytest.mark.parametrize(
    "edit",
    [
        ImageOps.mirror,  # mirrored re-upload
        ImageOps.flip,
        lambda im: im.rotate(90, expand=True),
        lambda im: im.rotate(270, expand=True),
    ],
)
def test_dihedral_variants_match_mirrored_and_rotated_copies(edit) -> None:
    original = _photo(900, 600, 3)
    a, b = _hashes(encode(original)), _hashes(encode(edit(original)))
    assert hamming(a.pdq, b.pdq) > 64  # the plain hash alone misses it
    assert min(hamming(a.pdq, v) for v in b.all_pdqs) <= 31
    assert min(hamming(a.phash, v) for v in b.all_phashes) <= 8


def test_content_box_finds_photo_inside_white_border() -> None:
    inner = _photo(400, 300, 4)
    padded = ImageOps.expand(inner, border=(40, 30), fill="white")
    box = content_box(padded)
    assert box is not None
    left, top, right, bottom = box
    assert abs(left - 40) <= 3 and abs(top - 30) <= 3 and abs(right - 440) <= 3 and abs(bottom - 330) <= 3
    a, b = _hashes(encode(inner)), _hashes(encode(padded))
    assert _best(a.all_phashes, b.all_phashes) <= 8


def test_content_box_is_none_for_plain_photo() -> None:
    assert content_box(_photo(400, 300, 5)) is None


def test_center_crop_of_banked_photo_matches_crop_variant() -> None:
    original = _photo(1000, 800, 6)
    cropped = original.crop((100, 80, 900, 720))  # central 80 %, i.e. 10 % off every side
    a, b = _hashes(encode(original)), _hashes(encode(cropped))
    assert hamming(a.phash, b.phash) > 8  # the plain hash alone misses it
    assert _best(a.all_phashes, b.all_phashes) <= 8


def test_hamming_counts_bits_and_refuses_mixed_lengths() -> None:
    assert hamming(b"\x00\xff", b"\x01\x0f") == 5
    with pytest.raises(ValueError):
        hamming(b"\x00", b"\x00\x00")


PDQ_REF = EVAL_DIR / "pdq_reference"


@pytest.mark.skipif(not PDQ_REF.exists(), reason="shared/eval/pdq_reference not present")
def test_pdq_matches_upstream_reference_vectors() -> None:
    # Tolerances from pdq_reference/README.md; our path is decode() + compute_hashes().
    tolerance = {"C++": 10, "Java tool": 10, "pure-Python": 16, "WASM": 10}
    rows = list(csv.DictReader((PDQ_REF / "expected_hashes_upstream.csv").open()))
    checked = 0
    for row in rows:
        path = PDQ_REF / "files" / row["upstream_path"]
        if not path.exists():
            continue
        if path.name in ("LA.png", "I16.png"):
            # Conventions, not errors: we composite alpha on white (upstream's convert("RGB")
            # drops it) and scale 16-bit gray (upstream clips it to white, quality 36).
            continue
        data = path.read_bytes()
        h = compute_hashes(data, decode(data, DecodeLimits(min_side=1, max_aspect=100)))
        if h.pdq_quality < 50:
            continue  # upstream: discard; matching skips them (MatchThresholds.pdq_min_quality)
        limit = next((v for k, v in tolerance.items() if row["implementation"].startswith(k)), 10)
        assert hamming(h.pdq, bytes.fromhex(row["expected_pdq"])) <= limit, row["upstream_path"]
        checked += 1
    assert checked >= 30


@pytest.mark.skipif(not PDQ_REF.exists(), reason="shared/eval/pdq_reference not present")
def test_bridge_rotations_all_match_through_dihedral_variants() -> None:
    folder = PDQ_REF / "files" / "pdq" / "data" / "reg-test-input" / "dih"
    hashes = [_hashes(p.read_bytes()) for p in sorted(folder.glob("bridge-*.jpg"))]
    assert len(hashes) == 8
    # Within our PDQ match threshold (31), not upstream's 10: the DCT-scaled decode of a
    # rotated JPEG samples a different grid (measured worst case 18 bits).
    for h in hashes:
        assert all(min(hamming(g.pdq, v) for v in h.all_pdqs) <= 20 for g in hashes)


@pytest.mark.slow
@pytest.mark.skipif(not (EVAL_DIR / "photos").exists(), reason="shared/eval/photos not present")
def test_dev_set_recall_and_no_false_positive() -> None:
    from moderation.config import DEFAULT_POLICY
    from moderation.evaluation import run_photo_eval
    from moderation.policy import load_policy

    rows = {r["transform"]: r for r in run_photo_eval(EVAL_DIR / "photos", load_policy(DEFAULT_POLICY))}
    assert rows["all"]["recall"] >= 0.85
    assert sum(r["false_positives"] for r in rows.values()) == 0
    assert rows["hflip"]["recall"] == 1.0


@pytest.mark.parametrize("seed", range(4))
def test_crop_and_content_box_phashes_are_imagehash_of_the_cropped_pixels(seed: int) -> None:
    # The box pHashes come from matrix products over the whole image (Pillow's Lanczos
    # weights restricted to the box), not from cropped thumbnails: they must stay the
    # pHash of the crop, or banks built before and after would drift apart.
    from moderation.photos.hashing import CROP_FRACTIONS, bits8, low_dcts

    gray = _photo(640 - 40 * seed, 480 + 30 * seed, seed).convert("L")
    width, height = gray.size
    boxes = [(0, 0, width, height), (37, 21, width - 50, height - 9)]
    boxes += [(round(width * f), round(height * f), width - round(width * f), height - round(height * f))
              for f in CROP_FRACTIONS]
    for box, low in zip(boxes, low_dcts(np.asarray(gray, dtype=np.float32), boxes)):
        assert hamming(bits8(low), bytes.fromhex(str(imagehash.phash(gray.crop(box))))) <= 2, box


@pytest.mark.skipif(not (EVAL_DIR / "photos").exists(), reason="shared/eval/photos not present")
def test_gray_and_colour_decodes_hash_alike_on_real_photos() -> None:
    from moderation.photos.hashing import CROP_FRACTIONS

    # A bank filled through the API (gray decode) must match uploads whose context runs
    # the nudity model (colour decode), and the other way round.
    limits = DecodeLimits(min_side=16)
    rows = list(csv.DictReader((EVAL_DIR / "photos" / "manifest.csv").open()))
    files = [r["file"] for r in rows if r["transform"] in ("original", "jpeg_q50", "crop_10", "screenshot_png", "grayscale")]
    assert len(files) >= 40
    for file in files:
        data = (EVAL_DIR / "photos" / file).read_bytes()
        gray, colour = compute_hashes(data, decode(data, limits, "L")), compute_hashes(data, decode(data, limits))
        assert hamming(gray.phash, colour.phash) <= 2, file
        if colour.pdq_quality >= 50:
            assert hamming(gray.pdq, colour.pdq) <= 10, file
        # The central crops too (the content box may be found in one decode and not the
        # other on a borderline image, such as a dark retina scan on black).
        for a, b in zip(gray.phash_extra[-len(CROP_FRACTIONS):], colour.phash_extra[-len(CROP_FRACTIONS):]):
            assert hamming(a, b) <= 4, file


@pytest.mark.skipif(not (EVAL_DIR / "photos").exists(), reason="shared/eval/photos not present")
def test_dct_scaled_and_full_decodes_hash_alike_on_real_photos() -> None:
    # A bank filled elsewhere from full decodes must match our DCT-scaled decodes. Measured
    # on the 13 originals that are DCT-scaled (640 px -> 320): pHash <= 2 bits, PDQ <= 6.
    checked = 0
    for path in sorted((EVAL_DIR / "photos" / "originals").glob("*.jpg")):
        data = path.read_bytes()
        scaled, full = decode(data), decode(data, DecodeLimits(work_size=4096))
        if scaled.image.size == full.image.size:
            continue
        a, b = compute_hashes(data, scaled), compute_hashes(data, full)
        assert hamming(a.phash, b.phash) <= 4, path.name
        assert hamming(a.pdq, b.pdq) <= 10, path.name  # upstream's conformance tolerance
        checked += 1
    assert checked >= 10

"""Decoding refuses bad uploads with one clear reason each, and never leaks Pillow errors."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from images import encode, photo_array
from PIL import Image

from moderation.errors import ImageTooLarge, InvalidImage
from moderation.photos.decode import DecodeLimits, Photo, decode, shrink_to_8bit

REPO = Path(__file__).resolve().parents[2]
MiB = 2**20


def _photo_array(width: int, height: int, seed: int = 0) -> np.ndarray:
    """Smooth random colour field without grain: compresses like a photo, deterministic."""
    return photo_array(width, height, seed, cell=32, grain=0)


def _jpeg(width: int = 800, height: int = 600, **params: object) -> bytes:
    return encode(Image.fromarray(_photo_array(width, height)), "JPEG", quality=90, **params)


def _fault(exc_info: pytest.ExceptionInfo) -> str:
    return exc_info.value.extra["fault"]


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_decode_accepts_the_four_formats(fmt: str) -> None:
    photo = decode(encode(Image.fromarray(_photo_array(300, 200)), fmt))
    assert isinstance(photo, Photo)
    assert (photo.width, photo.height, photo.format) == (300, 200, fmt)
    assert photo.image.mode == "RGB"


def test_decode_downscales_large_jpeg_to_work_size() -> None:
    photo = decode(_jpeg(4000, 3000))
    assert (photo.width, photo.height) == (4000, 3000)
    # libjpeg's 1/8 scale (500 px) is within the work band: kept as decoded; a full decode
    # followed by a resize to the 512 px work size would give 512 x 384.
    assert photo.image.size == (500, 375)


def test_decode_resizes_when_no_dct_scale_fits_the_work_band() -> None:
    # 1/2 of 1200 is 600 (> 512) and 1/4 is 300 (< 320, WORK_BAND of 512): decoded at 1/2, resized.
    photo = decode(_jpeg(1200, 900))
    assert photo.image.size == (512, 384)
    # 1/4 of 1728 is 432 (>= 320): used as decoded.
    assert decode(_jpeg(1728, 1152)).image.size == (432, 288)
    # Never above the work size, even when 1/8 is too big (8000 px: 1000 px at 1/8).
    assert max(decode(_jpeg(6000, 1000)).image.size) == 512


@pytest.mark.parametrize(
    ("data", "fault"),
    [
        (b"", "empty"),
        (b"BM" + b"\x00" * 100, "unsupported_format"),  # BMP, named
        (b"hello, not an image at all", "unsupported_format"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "corrupt"),  # PNG magic, garbage chunks
        (b"\xff\xd8\xff\xe0" + b"\x13" * 300, "truncated"),  # JPEG header cut before any frame
    ],
)
def test_decode_refuses_bad_bytes_with_reason(data: bytes, fault: str) -> None:
    with pytest.raises(InvalidImage) as exc_info:
        decode(data)
    assert _fault(exc_info) == fault


def test_decode_names_refused_format() -> None:
    bmp = encode(Image.fromarray(_photo_array(100, 100)), "BMP")
    tiff = encode(Image.fromarray(_photo_array(100, 100)), "TIFF")
    with pytest.raises(InvalidImage, match="BMP"):
        decode(bmp)
    with pytest.raises(InvalidImage, match="TIFF"):
        decode(tiff)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_decode_refuses_truncated_file(fmt: str) -> None:
    data = encode(Image.fromarray(_photo_array(400, 300)), fmt)
    with pytest.raises(InvalidImage) as exc_info:
        decode(data[: len(data) // 2])
    assert _fault(exc_info) in {"truncated", "corrupt"}
    if fmt == "JPEG":
        assert _fault(exc_info) == "truncated"


def test_decode_refuses_too_small_and_absurd_aspect() -> None:
    with pytest.raises(InvalidImage) as small:
        decode(_jpeg(63, 200))
    assert _fault(small) == "too_small"
    with pytest.raises(InvalidImage) as thin:
        decode(_jpeg(900, 100))
    assert _fault(thin) == "aspect_ratio"


def test_decode_refuses_too_many_bytes() -> None:
    data = _jpeg(200, 200)
    with pytest.raises(ImageTooLarge) as exc_info:
        decode(data, DecodeLimits(max_bytes=len(data) - 1))
    assert _fault(exc_info) == "too_many_bytes"
    assert exc_info.value.status == 413


def test_decode_refuses_pixel_bomb_from_header() -> None:
    # A 1-bit PNG of 20000 x 20000 (400 MP) compresses to a few hundred kB.
    bomb = encode(Image.new("1", (20_000, 20_000)), "PNG", optimize=True)
    with pytest.raises(ImageTooLarge) as exc_info:
        decode(bomb)
    assert _fault(exc_info) == "too_many_pixels"


def test_decode_turns_pillow_bomb_warning_into_error() -> None:
    # Above our cap but between Pillow's 1x and 2x limit: Pillow would only warn.
    limits = DecodeLimits(max_pixels=10**9)
    bomb = encode(Image.new("1", (10_000, 10_000)), "PNG", optimize=True)
    with pytest.raises(ImageTooLarge):
        decode(bomb, limits)


def test_decode_composites_alpha_on_white() -> None:
    rgba = Image.new("RGBA", (100, 100), (255, 0, 0, 0))  # fully transparent red
    photo = decode(encode(rgba, "PNG"))
    assert photo.image.getpixel((50, 50)) == (255, 255, 255)


def test_decode_palette_transparency_composited_on_white() -> None:
    pal = Image.new("P", (100, 100), 1)
    pal.putpalette([0, 0, 0, 10, 200, 10] + [0] * 762)
    photo = decode(encode(pal, "GIF", transparency=1))
    assert photo.image.getpixel((10, 10)) == (255, 255, 255)


def test_decode_converts_cmyk_and_grayscale() -> None:
    cmyk = Image.fromarray(_photo_array(200, 200)).convert("CMYK")
    gray = Image.fromarray(_photo_array(200, 200)).convert("L")
    assert decode(encode(cmyk, "JPEG")).image.mode == "RGB"
    assert decode(encode(gray, "PNG")).image.mode == "RGB"


def test_decode_scales_16_bit_instead_of_clipping() -> None:
    ramp = np.tile(np.linspace(0, 65535, 256).astype(np.uint16), (128, 1))
    photo = decode(encode(Image.fromarray(ramp), "PNG"))
    row = np.asarray(photo.image)[64, :, 0]
    assert row[0] < 5 and row[-1] > 250 and 100 < row[128] < 160


def test_decode_takes_first_gif_frame() -> None:
    frames = [Image.new("RGB", (100, 100), c) for c in ((250, 0, 0), (0, 0, 250))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    r, _g, b = decode(buf.getvalue()).image.getpixel((50, 50))
    assert r > 200 and b < 50


def test_decode_applies_exif_orientation() -> None:
    # A landscape 300x200 stored with orientation 6 (rotate 90 CW to show): shown 200x300.
    image = Image.fromarray(_photo_array(300, 200))
    image.paste((255, 0, 0), (0, 0, 30, 30))  # red mark at stored top-left
    exif = Image.Exif()
    exif[0x0112] = 6
    photo = decode(encode(image, "JPEG", quality=95, exif=exif.tobytes()))
    assert (photo.width, photo.height) == (200, 300)
    assert photo.image.size == (200, 300)
    # Rotating 90 CW moves the stored top-left to the top-right.
    r, g, _b = photo.image.getpixel((190, 10))
    assert r > 200 and g < 60


def _gray_inputs() -> dict[str, bytes]:
    colour = Image.fromarray(_photo_array(300, 200, 4))
    rgba = colour.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize((300, 200)))
    ramp = np.tile(np.linspace(0, 65535, 300).astype(np.uint16), (200, 1))
    return {
        "jpeg": encode(colour, "JPEG", quality=90),
        "large jpeg": _jpeg(2400, 1600),
        "cmyk jpeg": encode(colour.convert("CMYK"), "JPEG"),
        "gray jpeg": encode(colour.convert("L"), "JPEG"),
        "png with alpha": encode(rgba, "PNG"),
        "16-bit png": encode(Image.fromarray(ramp), "PNG"),
        "palette gif": encode(colour.convert("P"), "GIF"),
        "webp": encode(colour, "WEBP"),
    }


@pytest.mark.parametrize("name", list(_gray_inputs()))
def test_gray_decode_is_the_luma_of_the_colour_decode(name: str) -> None:
    # Mode "L" (no model needs colour) must give the pixels the hashes would read from the
    # RGB decode: for a JPEG, libjpeg's Y plane instead of Pillow's RGB-to-gray of it.
    data = _gray_inputs()[name]
    gray, colour = decode(data, mode="L"), decode(data)
    assert gray.image.mode == "L" and colour.image.mode == "RGB"
    assert gray.image.size == colour.image.size and (gray.width, gray.height) == (colour.width, colour.height)
    difference = np.abs(np.asarray(gray.image, dtype=np.int16) - np.asarray(colour.image.convert("L"), dtype=np.int16))
    assert difference.mean() < 0.6 and difference.max() <= 3  # rounding: measured mean < 0.5


def test_decode_refuses_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="mode"):
        decode(_jpeg(), mode="CMYK")


# -- memory: what a decode may hold is bounded from the header ------------------------------


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(width: int, height: int, bit_depth: int, colour_type: int, frames: int = 1) -> bytes:
    """A PNG (an APNG when `frames` > 1) written row by row: a 7000 x 7000 16-bit one never
    exists as pixels here, only as its few hundred kB of deflated rows."""
    channels = {0: 1, 2: 3, 6: 4}[colour_type]
    row_bytes = width * channels * bit_depth // 8
    row = b"\x00" + (bytes(range(256)) * (row_bytes // 256 + 1))[:row_bytes]  # filter 0, a ramp
    deflate = zlib.compressobj(6)
    rows_per_block = max(1, MiB // len(row))
    idat = []
    for top in range(0, height, rows_per_block):
        idat.append(deflate.compress(row * min(rows_per_block, height - top)))
    idat.append(deflate.flush())
    pixels = b"".join(idat)
    out = [b"\x89PNG\r\n\x1a\n", _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0))]
    if frames > 1:
        out.append(_png_chunk(b"acTL", struct.pack(">II", frames, 0)))
        sequence = 0
        for frame in range(frames):
            control = struct.pack(">IIIIIHHBB", sequence, width, height, 0, 0, 1, 10, 0, 0)
            out.append(_png_chunk(b"fcTL", control))
            sequence += 1
            if frame == 0:
                out.append(_png_chunk(b"IDAT", pixels))
            else:
                out.append(_png_chunk(b"fdAT", struct.pack(">I", sequence) + pixels))
                sequence += 1
    else:
        out.append(_png_chunk(b"IDAT", pixels))
    out.append(_png_chunk(b"IEND", b""))
    return b"".join(out)


def _gif_frames(width: int, height: int, frames: int) -> bytes:
    images = [Image.new("P", (width, height), i) for i in range(3)]
    buf = io.BytesIO()
    images[0].save(buf, "GIF", save_all=True, append_images=(images * frames)[1:frames], duration=10)
    return buf.getvalue()


# The child reads the upload, notes its peak RSS, decodes, and reports the peak's growth:
# the memory the decode itself took. It imports this checkout's package, named in the
# output so that an installed copy elsewhere cannot stand in for it.
_MEASURE = """
import json, resource, sys
from moderation.errors import ImageTooLarge, InvalidImage
import moderation
from moderation.photos.decode import DecodeLimits, decode
data = open(sys.argv[1], "rb").read()
limits = DecodeLimits(max_decoded_bytes=int(sys.argv[2]))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    decode(data, limits)
    outcome = "decoded"
except (InvalidImage, ImageTooLarge) as exc:
    outcome = exc.extra["fault"]
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"growth": (after - before) * 1024, "outcome": outcome, "package": moderation.__file__}))
"""


def _decode_in_child(tmp_path: Path, data: bytes, max_decoded_bytes: int) -> tuple[int, str]:
    """(peak RSS growth in bytes, "decoded" or the refusal's fault) of one decode in a fresh
    process."""
    path = tmp_path / "upload"
    path.write_bytes(data)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path), str(max_decoded_bytes)],
        capture_output=True, text=True, env=env, cwd=REPO, check=True,
    )
    report = json.loads(done.stdout)
    assert Path(report["package"]).resolve().is_relative_to(REPO)
    return report["growth"], report["outcome"]


_DEFAULT_DECODED_BYTES = DecodeLimits().max_decoded_bytes


@pytest.mark.slow
@pytest.mark.parametrize(
    ("build", "max_decoded_bytes", "outcome"),
    [
        # 16-bit gray, 400 kB: 98 MB as Pillow's I;16 (it took 1.2 GB as float64 copies).
        (lambda: _png(7000, 7000, 16, 0), _DEFAULT_DECODED_BYTES, "decoded"),
        # The same under a smaller limit: refused from the header.
        (lambda: _png(7000, 7000, 16, 0), 64 * MiB, "too_many_decoded_bytes"),
        # 16-bit RGB: Pillow keeps 8 bits of each channel, 196 MB.
        (lambda: _png(7000, 7000, 16, 2), _DEFAULT_DECODED_BYTES, "decoded"),
        # 16-bit RGBA: 196 MB, and no full-size copy for the compositing on white.
        (lambda: _png(7000, 7000, 16, 6), _DEFAULT_DECODED_BYTES, "decoded"),
        # 1 x 50M: refused by its shape before a row is decoded (its row pointers alone are 400 MB).
        (lambda: _png(1, 50_000_000, 8, 0), _DEFAULT_DECODED_BYTES, "too_small"),
        # APNG of 100 RGBA frames (36 MB each): only the first frame is decoded.
        (lambda: _png(3000, 3000, 8, 6, frames=100), 64 * MiB, "decoded"),
        # GIF of 60 palette frames (9 MB each): only the first frame is decoded.
        (lambda: _gif_frames(3000, 3000, 60), 16 * MiB, "decoded"),
        # WebP: libwebp's canvases and copies make 16 bytes a pixel, 400 MB here.
        (lambda: encode(Image.new("RGB", (5000, 5000), (90, 40, 200)), "WEBP", lossless=True),
         _DEFAULT_DECODED_BYTES, "too_many_decoded_bytes"),
    ],
    ids=["16-bit gray", "16-bit gray over limit", "16-bit rgb", "16-bit rgba", "1x50M", "apng frames",
         "gif frames", "webp"],
)
def test_decode_peak_memory_stays_within_decoded_bytes_limit(
    tmp_path: Path, build: Callable[[], bytes], max_decoded_bytes: int, outcome: str
) -> None:
    growth, got = _decode_in_child(tmp_path, build(), max_decoded_bytes)
    assert got == outcome
    # The decoded frame is counted in the limit; strips, the reduced copy and the decoders'
    # own buffers are a few tens of MB whatever the image. A refusal allocates next to nothing.
    bound = max_decoded_bytes + 48 * MiB if outcome == "decoded" else 16 * MiB
    assert growth <= bound, f"peak RSS grew {growth / MiB:.0f} MiB, bound {bound / MiB:.0f} MiB"


def test_decode_refuses_too_many_decoded_bytes_before_decoding() -> None:
    gray16 = _png(2000, 2000, 16, 0)  # 8 MB as I;16
    limits = DecodeLimits(max_decoded_bytes=4 * MiB)
    with pytest.raises(ImageTooLarge) as exc_info:
        decode(gray16, limits)
    assert _fault(exc_info) == "too_many_decoded_bytes"
    assert exc_info.value.status == 413
    assert decode(_png(2000, 2000, 8, 0), limits).image.size == (512, 512)  # 4 MB as L


def test_decode_counts_progressive_jpeg_coefficients() -> None:
    # libjpeg keeps every coefficient of a progressive JPEG (36 MB at 12 MP, 4:2:0) however
    # small the draft scale; a baseline one is decoded at 1/8 (750 kB).
    image = Image.fromarray(_photo_array(4000, 3000))
    limits = DecodeLimits(max_decoded_bytes=16 * MiB)
    assert decode(encode(image, "JPEG", quality=80), limits).image.size == (500, 375)
    with pytest.raises(ImageTooLarge) as exc_info:
        decode(encode(image, "JPEG", quality=80, progressive=True), limits)
    assert _fault(exc_info) == "too_many_decoded_bytes"


@pytest.mark.parametrize("mode", ["I;16", "RGBA", "P"])
def test_decode_of_large_deep_images_matches_converting_first(mode: str) -> None:
    # 16-bit, alpha and palette images are made 8-bit a strip at a time, each strip reduced:
    # the pixels are those of converting the whole image first, then resizing it.
    colour = Image.fromarray(_photo_array(2100, 1601, 7))
    if mode == "I;16":
        image = Image.fromarray(np.asarray(colour.convert("L"), dtype=np.uint16) * 257)
    elif mode == "RGBA":
        image = colour.convert("RGBA")
        image.putalpha(Image.linear_gradient("L").resize(colour.size))
    else:
        image = colour.convert("P")
    whole = Image.open(io.BytesIO(encode(image, "PNG")))
    whole.load()
    expected = (whole.convert("RGBA") if mode != "I;16" else colour.convert("L"))
    if mode != "I;16":
        white = Image.new("RGBA", expected.size, (255, 255, 255, 255))
        expected = Image.alpha_composite(white, expected).convert("RGB")
    expected = expected.resize((512, 390), Image.Resampling.BILINEAR, reducing_gap=2.0)
    got = decode(encode(image, "PNG")).image
    assert got.size == (512, 390)
    assert np.array_equal(np.asarray(got), np.asarray(expected.convert("RGB")))


@pytest.mark.parametrize("mode", ["I", "F"])
def test_shrink_to_8bit_scales_32_bit_gray_by_the_whole_image_peak(mode: str) -> None:
    # No upload decodes to I or F today (Pillow reads 16-bit PNG as I;16), but a format
    # that does must be scaled, not clipped, with one peak for every strip: the top rows
    # (all under 256) must not be stretched as if they were an 8-bit image.
    values = np.tile(np.linspace(0, 60000, 1600), (1200, 1))
    values[:600] = 200
    image = Image.fromarray(values.astype(np.int32 if mode == "I" else np.float32), mode)
    small = np.asarray(shrink_to_8bit(image, (400, 300))[0])
    assert small.shape == (600, 800)
    assert small[:300].max() <= 1  # 200 of 65535
    assert small[-1, 0] == 0 and small[-1, -1] >= 232  # 60000 of 65535 is 233

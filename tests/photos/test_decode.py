"""Decoding refuses bad uploads with one clear reason each, and never leaks Pillow errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from images import encode, photo_array
from PIL import Image

from moderation.errors import ImageTooLarge, InvalidImage
from moderation.photos.decode import DecodeLimits, Photo, decode


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

"""Safe, cheap decoding of an uploaded photo: the one boundary where Pillow's errors become ours.

Why it looks the way it does:
* The format is sniffed from the magic bytes before Pillow sees the data, and Pillow is only
  allowed its JPEG, PNG, WebP and GIF decoders, so a BMP or TIFF is refused by name and no
  other decoder's attack surface is reachable.
* The pixel count is read from the header and capped before any pixel is decoded
  (decompression bombs); Pillow's own `DecompressionBombWarning` is turned into an error too.
* So are the bytes the decode will hold (`DecodeLimits.max_decoded_bytes`), counted from
  the header the way Pillow and its decoders allocate them: a 100 KB 16-bit PNG is as many
  pixels as an 8-bit one but not as many bytes, a WebP costs four buffers, a progressive
  JPEG keeps every DCT coefficient of the full-size photo whatever the draft scale.
* Nothing is converted at full size but an 8-bit RGB photo made gray: any other mode
  (16-bit, alpha, palette, CMYK) is made 8-bit a strip of rows at a time, each strip
  box-reduced as it goes, so the decoded frame is the only full-size buffer.
* A JPEG is decoded with `Image.draft`, which lets libjpeg scale by 1/2, 1/4 or 1/8 in the
  DCT, so a 12 MP photo is never fully decoded: every signal downstream (pHash, PDQ, the
  nudity model) works on about `work_size` pixels anyway.
* EXIF orientation is applied, so a photo hashes the way it is shown. This differs from
  Meta's C++ `pdq-photo-hasher`, which hashes the stored pixels; banks built elsewhere from
  rotated-by-EXIF files match through the dihedral variants instead.
* Everything comes out as 8-bit RGB: palette and alpha are composited on white, CMYK is
  converted, 16-bit gray is scaled (not clipped, which is what `convert("RGB")` does).
  Or as 8-bit gray (`mode="L"`), when no check needs colour: the hashes only read
  luminance, and libjpeg then skips the colour planes' inverse DCT, upsampling and colour
  conversion (3.8 -> 3.1 ms for a 2 MP JPEG). A JPEG's Y plane is the same ITU-R 601 luma
  that Pillow's and PDQ's RGB-to-gray compute, so both paths hash alike (tests/photos).
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageMode, UnidentifiedImageError

from moderation.errors import ImageTooLarge, InvalidImage

# Pillow holds a pointer per row beside the rows themselves (400 MB for a 1 x 50M image).
_ROW_POINTER_BYTES = 8
# libwebp's canvas and its disposal copy, and the frame's copy Pillow reads from: three
# RGBA buffers beside Pillow's own image (measured: 16 bytes per pixel in all).
_WEBP_EXTRA_BYTES_PER_PIXEL = 12
# Pixels per strip converted to 8 bits: its float64 copies stay a few MB.
_STRIP_PIXELS = 1 << 18
# As Pillow's `resize(reducing_gap=...)`: box-reduce by whole factors while the result
# stays at least this many times the target size, then resample.
_REDUCING_GAP = 2.0

# Decoders Pillow may use; MPO is a JPEG with extra frames (camera multi-picture files).
_PILLOW_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")  # the JPEG opener returns MPO files itself
_FORMAT_NAMES = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "GIF": "GIF"}

# EXIF orientations that swap width and height (transpose, rotate 90/270, transverse).
# A JPEG decoded at a DCT scale is kept without a resize when its long side is at least
# this share of the work size (2 MP: 1/4 scale, 408 px; 12 MP: 1/8 scale, 500 px): 320 px
# for the default 512, the nudity model's input, so the model never sees an upscaled photo.
# PDQ is computed for the full-size photo whatever the scale (`moderation.photos.pdq`).
WORK_BAND = 0.625
_SWAPPING_ORIENTATIONS = frozenset({5, 6, 7, 8})
# EXIF orientation -> the transpose that shows the photo upright (as ImageOps.exif_transpose).
_T = Image.Transpose
_TRANSPOSE = {
    2: _T.FLIP_LEFT_RIGHT, 3: _T.ROTATE_180, 4: _T.FLIP_TOP_BOTTOM, 5: _T.TRANSPOSE,
    6: _T.ROTATE_270, 7: _T.TRANSVERSE, 8: _T.ROTATE_90,
}


@dataclass(frozen=True)
class DecodeLimits:
    """What an upload may be; the values come from the policy file."""

    max_bytes: int = 20_000_000
    max_pixels: int = 50_000_000
    # Bytes a decode may hold: a 50 MP 8-bit photo is 200 MB in Pillow (RGB is stored as
    # RGBX), 250 MB when it is also made gray.
    max_decoded_bytes: int = 256 * 2**20
    min_side: int = 64
    max_aspect: float = 8.0
    work_size: int = 512

    def __post_init__(self) -> None:
        if self.max_bytes <= 0 or self.max_pixels <= 0 or self.max_decoded_bytes <= 0:
            raise ValueError("max_bytes, max_pixels and max_decoded_bytes must be positive")
        if self.min_side < 1 or self.work_size < 32:
            raise ValueError("min_side must be >= 1 and work_size >= 32")
        if self.max_aspect < 1.0:
            raise ValueError("max_aspect must be >= 1")


@dataclass(frozen=True)
class Photo:
    """A decoded photo: small RGB (or gray, see `decode`) pixels for the signals, original size for the policy."""

    image: Image.Image
    width: int
    height: int
    format: str


def sniff_format(data: bytes) -> str | None:
    """Name the container from its magic bytes, or None when it is not one we know of.

    Used to name refused formats ("BMP is not accepted") and to tell a corrupt JPEG from
    a file that was never an image.
    """
    head = data[:32]
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if head.startswith(b"BM"):
        return "BMP"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "TIFF"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "AVIF"
        if brand in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"):
            return "HEIC"
        return "ISO-BMFF (" + brand.decode("latin-1", "replace") + ")"
    if head.startswith((b"\x00\x00\x00\x0cJXL ", b"\xff\x0a")):
        return "JPEG XL"
    if head.startswith(b"%PDF"):
        return "PDF"
    if head.startswith(b"8BPS"):
        return "PSD"
    if head.startswith(b"\x00\x00\x01\x00"):
        return "ICO"
    stripped = head.lstrip()
    if stripped.startswith((b"<svg", b"<?xml")):
        return "SVG"
    return None


def decode(data: bytes, limits: DecodeLimits = DecodeLimits(), mode: str = "RGB") -> Photo:
    """Validate and decode an upload into a small RGB (`mode="RGB"`) or gray (`"L"`) `Photo`.

    Raises InvalidImage (fault: empty, unsupported_format, corrupt, truncated, too_small,
    aspect_ratio) or ImageTooLarge (fault: too_many_bytes, too_many_pixels,
    too_many_decoded_bytes); never a Pillow exception or warning.
    """
    if mode not in ("RGB", "L"):
        raise ValueError(f"mode must be RGB or L, not {mode!r}")
    # Cheap refusals first: nothing to decode, too much to read, or not a format we take.
    if not data:
        raise InvalidImage("the upload is empty", fault="empty")
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(
            f"the upload is {len(data)} bytes, more than the {limits.max_bytes} allowed",
            fault="too_many_bytes",
        )
    sniffed = sniff_format(data)
    if sniffed not in _FORMAT_NAMES:
        name = sniffed or "an unrecognised format"
        raise InvalidImage(
            f"{name} is not accepted; send JPEG, PNG, WebP or GIF", fault="unsupported_format"
        )
    try:
        with warnings.catch_warnings():
            # Pillow warns (does not raise) between 1x and 2x its own pixel limit.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _decode(data, sniffed, limits, mode)
    except (InvalidImage, ImageTooLarge):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(f"the image has too many pixels: {exc}", fault="too_many_pixels") from exc
    except UnidentifiedImageError as exc:
        raise InvalidImage(f"the {sniffed} data is corrupt: not decodable", fault="corrupt") from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError,
            KeyError, TypeError, MemoryError) as exc:
        message = str(exc)
        if "truncat" in message.lower() or isinstance(exc, EOFError):
            raise InvalidImage(f"the {sniffed} data is truncated", fault="truncated") from exc
        raise InvalidImage(f"the {sniffed} data is corrupt: {message[:200]}", fault="corrupt") from exc


def _decode(data: bytes, sniffed: str, limits: DecodeLimits, mode: str) -> Photo:
    image = Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS)
    fmt = _FORMAT_NAMES.get(image.format or "", sniffed)
    # The header gives the stored size; refuse bombs before a single pixel is decoded.
    stored_w, stored_h = image.size
    if stored_w * stored_h > limits.max_pixels:
        raise ImageTooLarge(
            f"the image is {stored_w}x{stored_h}, more than {limits.max_pixels} pixels",
            fault="too_many_pixels",
        )
    # Both checks are the same whichever way the photo is shown, so they need no EXIF:
    # reading a PNG's EXIF decodes the whole image (Pillow looks for an eXIf chunk after
    # the pixels).
    _check_shape(stored_w, stored_h, limits)

    scale = min(1.0, limits.work_size / max(stored_w, stored_h))
    target = (max(1, round(stored_w * scale)), max(1, round(stored_h * scale)))
    if fmt == "JPEG":
        # JPEG: let libjpeg scale in the DCT (1/2, 1/4, 1/8). A DCT-scaled image whose long
        # side is already within WORK_BAND of the work size is used as it is: a resize of
        # 816 -> 512 px cost as much as the decode itself. In mode L, libjpeg also
        # outputs only Y (a YCbCr JPEG; CMYK and others are converted after).
        small = _draft_size(stored_w, stored_h, limits.work_size) if scale < 1.0 else None
        image.draft(mode, small)
        if small is not None and max(small) <= limits.work_size:
            target = small
    needed = _decoded_bytes(image, fmt, data, mode, (stored_w, stored_h))
    if needed > limits.max_decoded_bytes:
        raise ImageTooLarge(
            f"decoding the {stored_w}x{stored_h} {image.mode} image takes {needed} bytes, "
            f"more than the {limits.max_decoded_bytes} allowed",
            fault="too_many_decoded_bytes",
        )
    # Ignore the rest of an animation: the first frame is what is shown first.
    image.load()
    orientation = _orientation(image)
    width, height = (stored_h, stored_w) if orientation in _SWAPPING_ORIENTATIONS else (stored_w, stored_h)
    if image.mode in ("RGB", "L"):
        pixels, box = image, None
    else:
        pixels, box = shrink_to_8bit(image, target)
    if pixels.mode == "RGB" and mode == "L":
        pixels = pixels.convert("L")
    if pixels.size != target:
        # Pillow's bilinear is antialiased when shrinking; Lanczos cost 4x more for no
        # measurable change in the hashes. reducing_gap: integer box-reduce first.
        pixels = pixels.resize(target, Image.Resampling.BILINEAR, box=box, reducing_gap=_REDUCING_GAP)
    if pixels.mode != mode:
        # Gray to RGB only copies the channel, so it gives the same pixels after the
        # resize as before it, for a small fraction of the memory.
        pixels = pixels.convert(mode)
    if orientation in _TRANSPOSE:
        pixels = pixels.transpose(_TRANSPOSE[orientation])
    return Photo(image=pixels, width=width, height=height, format=fmt)


def _decoded_bytes(image: Image.Image, fmt: str, data: bytes, mode: str, stored: tuple[int, int]) -> int:
    """The bytes decoding `image` (opened, drafted, not loaded) into `mode` holds at once,
    from its header: the frame in Pillow's layout plus what the decoders keep beside it."""
    width, height = image.size
    descriptor = ImageMode.getmode(image.mode)
    # Every multi-band mode is 4 bytes a pixel in Pillow; single-band ones their sample size.
    pixel_bytes = 4 if len(descriptor.bands) > 1 else np.dtype(descriptor.typestr).itemsize
    total = height * (width * pixel_bytes + _ROW_POINTER_BYTES)
    if image.mode == "RGB" and mode == "L":
        total += height * (width + _ROW_POINTER_BYTES)  # the full-size gray copy
    if fmt == "WEBP":
        total += width * height * _WEBP_EXTRA_BYTES_PER_PIXEL
    if fmt == "JPEG" and _jpeg_buffers_coefficients(image, data):
        total += _jpeg_coefficient_bytes(image, stored)
    return total


def _jpeg_buffers_coefficients(image: Image.Image, data: bytes) -> bool:
    """Whether libjpeg keeps the whole image's coefficients: it does when the photo comes in
    more than one scan, progressive or sequential with a scan per component."""
    if image.info.get("progressive"):
        return True
    components = len(getattr(image, "layer", ()))
    scanned = _jpeg_first_scan_components(data)
    return scanned is not None and scanned < components


def _jpeg_first_scan_components(data: bytes) -> int | None:
    """The component count of a JPEG's first scan (its SOS segment), or None when the
    markers before it do not parse (the decode then says what is wrong)."""
    pos = 2  # after SOI
    while pos + 4 < len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            pos += 2
            continue
        if marker == 0xDA:
            return data[pos + 4]
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return None


def _jpeg_coefficient_bytes(image: Image.Image, stored: tuple[int, int]) -> int:
    """libjpeg's whole-image coefficient buffer: per component, 64 2-byte coefficients a
    block of 8x8 samples, at the stored size (a draft scale does not shrink it)."""
    width, height = stored
    layers = getattr(image, "layer", ())
    h_max = max((h for _, h, _, _ in layers), default=1)
    v_max = max((v for _, _, v, _ in layers), default=1)
    total = 0
    for _, h, v, _ in layers:
        blocks_w = -(-width * h // (h_max * 8))
        blocks_h = -(-height * v // (v_max * 8))
        total += blocks_w * blocks_h * 64 * 2
    return total


def _draft_size(width: int, height: int, work_size: int) -> tuple[int, int]:
    """The smallest DCT-scaled size whose long side is at least WORK_BAND of the work size."""
    floor = WORK_BAND * work_size
    for denominator in (8, 4, 2):
        w, h = -(-width // denominator), -(-height // denominator)  # libjpeg rounds up
        if max(w, h) >= floor:
            return w, h
    return width, height


def _check_shape(width: int, height: int, limits: DecodeLimits) -> None:
    short, long = min(width, height), max(width, height)
    if short < limits.min_side:
        raise InvalidImage(
            f"the image is {width}x{height}; both sides must be at least {limits.min_side} px",
            fault="too_small",
        )
    if long / short > limits.max_aspect:
        raise InvalidImage(
            f"the image is {width}x{height}; the aspect ratio {long / short:.1f} is over {limits.max_aspect:g}",
            fault="aspect_ratio",
        )


def _orientation(image: Image.Image) -> int | None:
    """The EXIF orientation tag (1..8), or None; a broken EXIF block is not worth refusing a photo."""
    try:
        value = image.getexif().get(0x0112)
    except Exception:  # noqa: BLE001 - malformed EXIF from cameras is common and harmless
        return None
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def shrink_to_8bit(
    image: Image.Image, target: tuple[int, int]
) -> tuple[Image.Image, tuple[float, float, float, float]]:
    """`_to_8bit` a strip of rows at a time, each strip box-reduced by the whole factors
    Pillow's resize would reduce by (`_REDUCING_GAP`), without a full-size converted copy.

    Returns the reduced image and the box of it that the whole image covers (a last,
    partial block is a whole pixel of the reduced image): resized from that box, it gives
    the pixels a resize of the whole converted image gives, which reduces the same way.
    """
    width, height = image.size
    fx = int(width / target[0] / _REDUCING_GAP) or 1
    fy = int(height / target[1] / _REDUCING_GAP) or 1
    peak = _peak(image)
    rows = fy * max(1, _STRIP_PIXELS // (width * fy))  # whole blocks of fy rows per strip
    out: Image.Image | None = None
    for top in range(0, height, rows):
        strip = _to_8bit(image.crop((0, top, width, min(height, top + rows))), peak)
        if fx > 1 or fy > 1:
            strip = strip.reduce((fx, fy))
        if out is None:
            out = Image.new(strip.mode, (-(-width // fx), -(-height // fy)))
        out.paste(strip, (0, top // fy))
    assert out is not None  # a decoded image has at least one row
    return out, (0.0, 0.0, width / fx, height / fy)


def _peak(image: Image.Image) -> float:
    """The value that maps to 255 for 16/32-bit gray, from the whole image (not a strip):
    65535 for 16-bit, and for 32-bit ones that go above 255."""
    if image.mode.startswith("I;16"):
        return 65535.0
    if image.mode in ("I", "F"):
        return 65535.0 if float(image.getextrema()[1]) > 255 else 255.0
    return 255.0


def _to_8bit(image: Image.Image, peak: float) -> Image.Image:
    """Any Pillow mode to 8-bit RGB, or 8-bit gray for gray images: alpha and palette
    transparency composited on white; 16/32-bit gray scaled so that `peak` is 255."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        # 16/32-bit gray: scale to 8 bits (Pillow's convert would clip at 255).
        values = np.asarray(image, dtype=np.float64)
        gray = np.clip(values * (255.0 / peak) + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(gray, "L")
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if mode in ("RGB", "L"):
        return image
    return image.convert("RGB")

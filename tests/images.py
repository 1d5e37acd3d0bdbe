"""Deterministic test photos made with numpy and Pillow (no files from elsewhere)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def photo_array(width: int, height: int, seed: int = 0, *, cell: int = 64, grain: int = 8) -> np.ndarray:
    """A smooth, photo-like RGB image: random colours every `cell` pixels, upsampled
    (bicubic), plus uniform grain of +/- `grain` (none when 0), so JPEGs compress like photos."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(max(2, height // cell), max(2, width // cell), 3), dtype=np.uint8)
    img = Image.fromarray(small, "RGB").resize((width, height), Image.BICUBIC)
    if not grain:
        return np.asarray(img)
    arr = np.asarray(img).astype(np.int16)
    arr += rng.integers(-grain, grain + 1, size=arr.shape, dtype=np.int16)
    return np.clip(arr, 0, 255).astype(np.uint8)


def encode(image: np.ndarray | Image.Image, fmt: str = "JPEG", **kw: object) -> bytes:
    """`image` (pixels or a Pillow image) saved as `fmt` with Pillow's options `kw`."""
    buf = io.BytesIO()
    (image if isinstance(image, Image.Image) else Image.fromarray(image)).save(buf, format=fmt, **kw)
    return buf.getvalue()


def make_jpeg(width: int = 640, height: int = 480, seed: int = 0, quality: int = 90) -> bytes:
    return encode(photo_array(width, height, seed), "JPEG", quality=quality)


def reencode(data: bytes, quality: int = 70, scale: float = 1.0) -> bytes:
    """A mildly edited copy: decoded, optionally resized, saved again at another quality."""
    img = Image.open(io.BytesIO(data)).convert("RGB")
    if scale != 1.0:
        img = img.resize((int(img.width * scale), int(img.height * scale)), Image.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()

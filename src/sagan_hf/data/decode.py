"""Image decoding for the training stream: bytes or a file path in, a square uint8 RGB array out.

We decode ourselves (the stream is read with ``decode(False)``) because PIL's ``draft`` lets a JPEG
decoder skip most of the work for a small target size, and because a broken file must be skippable.
Plain ``convert("RGB")`` is wrong for three kinds of files, so each gets its own path here:

- 16-bit greyscale (PNG ``I;16``, TIFF ``I``): PIL clips every value above 255 to white; we scale
  0-65535 to 0-255 instead. ``F`` (32-bit float) images are read as values in [0, 1].
- EXIF orientation: PIL hands out the pixels as stored; phones store portraits rotated and say so
  in the EXIF tag. We apply the tag (all eight orientations).
- Transparency (``RGBA``, ``LA``, ``PA``, palette or colour-key ``tRNS``): ``convert("RGB")`` keeps
  whatever colour hides under transparent pixels (often black or garbage). We composite over
  ``TRANSPARENT_BACKGROUND`` (white, like a page) instead.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

RESAMPLING_FILTERS = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}

# What transparent pixels become: white, the background such images are usually drawn for.
TRANSPARENT_BACKGROUND = (255, 255, 255)

# EXIF tag 0x0112 (Orientation) -> the transpose that shows the image upright (EXIF 2.3, table 6).
EXIF_ORIENTATION_TAG = 0x0112
ORIENTATION_TRANSPOSES = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}
ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}


class ImageDecodeError(Exception):
    """An example's image could not be read; the stream skips it and counts it."""


class ImageTooSmallError(ImageDecodeError):
    """The image's shorter side is below the ``min_image_side`` asked for; skipped, not decoded."""


@dataclass
class DecodedImage:
    """Pixels ready for training plus what the stream reports about the source image."""

    pixels: np.ndarray  # uint8 [R, R, 3]
    source_side: int  # shorter side of the stored image (smaller than R means it was upscaled)


def open_image(value: Any) -> Image.Image:
    """Open the image held by one example's image field, whatever form the builder gave it in.

    Accepts datasets' undecoded ``{"bytes": ..., "path": ...}`` dict, raw bytes, a file path or an
    already decoded PIL image. Raises ``ImageDecodeError`` when there is nothing readable.
    """
    if isinstance(value, Image.Image):
        return value
    if isinstance(value, dict):
        data, path = value.get("bytes"), value.get("path")
        if data is not None:
            value = data
        elif path:
            value = path
        else:
            raise ImageDecodeError("the example has neither image bytes nor a path")
    try:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return Image.open(io.BytesIO(value))
        if isinstance(value, str):
            return Image.open(value)
    except Exception as error:  # PIL raises many types for broken files
        raise ImageDecodeError(f"{type(error).__name__}: {error}") from error
    raise ImageDecodeError(f"unsupported image value of type {type(value).__name__}")


def exif_orientation(image: Image.Image) -> int:
    """The EXIF orientation (1-8) read from the header alone; 1 (upright) when absent or invalid."""
    try:
        orientation = image.getexif().get(EXIF_ORIENTATION_TAG, 1)
    except Exception:  # a damaged EXIF block must not cost the image
        return 1
    return orientation if orientation in ORIENTATION_TRANSPOSES else 1


def has_transparency(image: Image.Image) -> bool:
    return image.mode in ALPHA_MODES or "transparency" in image.info


def _composite(rgba: Image.Image) -> Image.Image:
    background = Image.new("RGBA", rgba.size, TRANSPARENT_BACKGROUND + (255,))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _high_depth_to_rgb(image: Image.Image) -> Image.Image:
    """16-bit integer or float greyscale to 8-bit RGB by scaling (PIL's convert would clip)."""
    values = np.asarray(image)
    if image.mode == "F":
        grey = np.rint(np.clip(np.nan_to_num(values), 0.0, 1.0) * 255.0).astype(np.uint8)
    else:
        # 0-65535 -> 0-255 rounded (k * 257 maps back to k, the inverse of 8 -> 16-bit expansion).
        grey = ((np.clip(values.astype(np.int64), 0, 65535) + 128) // 257).astype(np.uint8)
    rgb = Image.fromarray(np.repeat(grey[:, :, None], 3, axis=2))
    key = image.info.get("transparency")
    if isinstance(key, int):  # a tRNS grey level: those pixels are transparent
        alpha = np.where(values == key, 0, 255).astype(np.uint8)
        rgb = _composite(Image.fromarray(np.dstack([np.asarray(rgb), alpha])))
    return rgb


def to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL mode to 8-bit RGB: high bit depths scaled, transparency composited on the background."""
    if image.mode in SIXTEEN_BIT_MODES or image.mode == "F":
        return _high_depth_to_rgb(image)
    if has_transparency(image):
        return _composite(image.convert("RGBA"))
    return image.convert("RGB")  # L, P, CMYK, YCbCr, 1, RGB (a no-op)


def decode(value: Any, resolution: int, resample: str = "bicubic", min_side: int | None = None) -> DecodedImage:
    """Decode, turn upright, centre-crop to a square and resize to ``resolution``.

    ``draft`` runs before the full decode so JPEGs are decoded at the smallest scale that is still
    at least ``resolution`` on each side (the fast path for ordinary photos). An image whose
    shorter side is below ``min_side`` raises ``ImageTooSmallError`` before its pixels are decoded.
    """
    if resample not in RESAMPLING_FILTERS:
        raise ValueError(f"resample must be one of {sorted(RESAMPLING_FILTERS)}, got {resample!r}")
    image = open_image(value)
    try:
        side = min(image.size)  # from the header; a 90-degree turn keeps the shorter side
        if side < 1:
            raise ImageDecodeError(f"empty image of size {image.width}x{image.height}")
        if min_side is not None and side < min_side:
            raise ImageTooSmallError(f"{image.width}x{image.height} is smaller than min_image_side={min_side}")
        orientation = exif_orientation(image)
        image.draft("RGB", (resolution, resolution))  # JPEG only; other formats ignore it
        image = to_rgb(image)
        if orientation != 1:
            image = image.transpose(ORIENTATION_TRANSPOSES[orientation])
        width, height = image.size
        crop = min(width, height)
        left, top = (width - crop) // 2, (height - crop) // 2
        image = image.crop((left, top, left + crop, top + crop))
        if crop != resolution:
            # PIL's resize filters are antialiased: they widen with the downscale factor.
            image = image.resize((resolution, resolution), RESAMPLING_FILTERS[resample])
        return DecodedImage(np.asarray(image, dtype=np.uint8), side)
    except ImageDecodeError:
        raise
    except Exception as error:  # truncated data usually only shows up here, at load time
        raise ImageDecodeError(f"{type(error).__name__}: {error}") from error


def decode_image(value: Any, resolution: int, resample: str = "bicubic") -> np.ndarray:
    """`decode`'s pixels alone: uint8 [R, R, 3]."""
    return decode(value, resolution, resample).pixels


def to_model_range(images_uint8):
    """uint8 images [B, 3, R, R] (torch) to float32 in [-1, 1]."""
    return images_uint8.float().div_(127.5).sub_(1.0)

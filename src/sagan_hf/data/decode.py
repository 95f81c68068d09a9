"""Image decoding for the training stream: bytes or a file path in, a square uint8 RGB array out.

We decode ourselves (the stream is read with ``decode(False)``) because PIL's ``draft`` lets a JPEG
decoder skip most of the work for a small target size, and because a broken file must be skippable.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

RESAMPLING_FILTERS = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}


class ImageDecodeError(Exception):
    """An example's image could not be read; the stream skips it and counts it."""


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


def decode_image(value: Any, resolution: int, resample: str = "bicubic") -> np.ndarray:
    """Decode, centre-crop to a square and resize to ``resolution``; returns uint8 [R, R, 3].

    ``draft`` runs before the full decode so JPEGs are decoded at the smallest scale that is still
    at least ``resolution`` on each side; ``convert("RGB")`` handles grayscale, CMYK and RGBA.
    """
    if resample not in RESAMPLING_FILTERS:
        raise ValueError(f"resample must be one of {sorted(RESAMPLING_FILTERS)}, got {resample!r}")
    image = open_image(value)
    try:
        image.draft("RGB", (resolution, resolution))
        image = image.convert("RGB")
        width, height = image.size
        side = min(width, height)
        if side < 1:
            raise ImageDecodeError(f"empty image of size {width}x{height}")
        left, top = (width - side) // 2, (height - side) // 2
        image = image.crop((left, top, left + side, top + side))
        if side != resolution:
            # PIL's resize filters are antialiased: they widen with the downscale factor.
            image = image.resize((resolution, resolution), RESAMPLING_FILTERS[resample])
        return np.asarray(image, dtype=np.uint8)
    except ImageDecodeError:
        raise
    except Exception as error:  # truncated data usually only shows up here, at load time
        raise ImageDecodeError(f"{type(error).__name__}: {error}") from error


def to_model_range(images_uint8):
    """uint8 images [B, 3, R, R] (torch) to float32 in [-1, 1]."""
    return images_uint8.float().div_(127.5).sub_(1.0)

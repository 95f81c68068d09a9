"""Properties of the training decoder: whatever bytes, sizes and modes come in, `decode_image` returns a
uint8 (R, R, 3) array or raises ImageDecodeError (which the stream counts and skips); nothing else.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from PIL import Image

from sagan_hf.data.decode import ImageDecodeError, decode_image

# Damaged files make PIL warn as it reads them; the refusal is what is tested here.
pytestmark = pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning",
                                        "ignore:Truncated File Read:UserWarning")

# Modes an image file can hold, and formats PIL writes them in. Left out: PIL's own BMP writer for
# palette images and TIFF writer for YCbCr make files its reader rejects (a PIL quirk, not a real file).
FORMATS_BY_MODE = {
    "1": ["PNG", "BMP", "TIFF", "GIF"],
    "L": ["PNG", "JPEG", "BMP", "TIFF", "GIF", "WEBP"],
    "LA": ["PNG", "TIFF"],
    "P": ["PNG", "TIFF", "GIF"],
    "RGB": ["PNG", "JPEG", "BMP", "TIFF", "GIF", "WEBP"],
    "RGBA": ["PNG", "TIFF", "WEBP"],
    "CMYK": ["JPEG", "TIFF"],
    "I;16": ["PNG", "TIFF"],
    "I": ["PNG", "TIFF"],
    "F": ["TIFF"],
}
resolutions = st.integers(1, 40)
resamples = st.sampled_from(["bicubic", "bilinear"])


@st.composite
def image_files(draw) -> tuple[bytes, str]:
    """A valid image file: random mode, format, size and pixels."""
    mode = draw(st.sampled_from(sorted(FORMATS_BY_MODE)))
    file_format = draw(st.sampled_from(FORMATS_BY_MODE[mode]))
    width, height = draw(st.integers(1, 48)), draw(st.integers(1, 48))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if mode in ("I;16", "I", "F"):
        maximum = {"I;16": 65535, "I": 2**31 - 1, "F": 1.0}[mode]
        pixels = rng.uniform(0, maximum, (height, width))
        image = Image.fromarray(pixels.astype({"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode]), mode=mode)
    else:
        image = Image.frombytes(mode, (width, height), rng.bytes(width * height * len(Image.new(mode, (1, 1)).tobytes())
                                                                 if mode != "1" else ((width + 7) // 8) * height))
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # PIL deprecates writing mode I as PNG
        image.save(buffer, file_format)
    return buffer.getvalue(), f"{mode}/{file_format}"


def assert_decoded(array: np.ndarray, resolution: int) -> None:
    assert isinstance(array, np.ndarray) and array.dtype == np.uint8 and array.shape == (resolution, resolution, 3)


@settings(max_examples=150, deadline=None)
@given(file=image_files(), resolution=resolutions, resample=resamples)
def test_every_valid_image_decodes_to_uint8_of_the_resolution(file, resolution, resample):
    data, kind = file
    event(kind)
    assert_decoded(decode_image(data, resolution, resample), resolution)
    assert_decoded(decode_image({"bytes": data, "path": None}, resolution, resample), resolution)


@settings(max_examples=150, deadline=None)
@given(file=image_files(), resolution=resolutions, cut=st.floats(0, 1), flips=st.lists(st.tuples(st.floats(0, 1),
       st.integers(1, 255)), max_size=4))
def test_damaged_files_decode_or_raise_image_decode_error(file, resolution, cut, flips):
    data = bytearray(file[0][: int(len(file[0]) * cut)] if cut < 0.9 else file[0])
    for where, value in flips:
        if data:
            data[int(where * (len(data) - 1))] ^= value
    try:
        array = decode_image(bytes(data), resolution)
    except ImageDecodeError:
        event("refused")
        return
    event("decoded")
    assert_decoded(array, resolution)


@settings(max_examples=200, deadline=None)
@given(data=st.one_of(st.binary(max_size=512), st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a",
                                                               b"BM", b"II*\x00", b"RIFF"]).flatmap(
    lambda magic: st.binary(max_size=256).map(lambda tail: magic + tail))), resolution=resolutions)
def test_arbitrary_bytes_decode_or_raise_image_decode_error(data, resolution):
    try:
        array = decode_image(data, resolution)
    except ImageDecodeError:
        return
    assert_decoded(array, resolution)


@settings(max_examples=60, deadline=None)
@given(side=st.integers(1, 32), seed=st.integers(0, 2**32 - 1))
def test_a_lossless_rgb_image_of_the_resolution_keeps_its_pixels(side, seed):
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    np.testing.assert_array_equal(decode_image(buffer.getvalue(), side), pixels)

"""Exact pixels from awkward images: 16-bit, EXIF orientation, transparency, small and broken files.

Every check compares decoded pixels with values worked out by hand (or with PIL's own
``ImageOps.exif_transpose`` as an independent oracle), at ``resolution`` equal to the image side so
that no resize blurs them.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageOps
from PIL.JpegImagePlugin import JpegImageFile

from sagan_hf.data.decode import TRANSPARENT_BACKGROUND, ImageTooSmallError, decode, decode_image
from streams import open_stream
from test_data_shard_writers import encode, ids_of, write_parquet_folder, write_webdataset_folder

WHITE = np.array(TRANSPARENT_BACKGROUND, dtype=np.uint8)


def png(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **options)
    return buffer.getvalue()


def rgb16_png(values: np.ndarray) -> bytes:
    """A 16-bit-per-channel RGB PNG written by hand (PIL cannot write one): ``values`` uint16 [H, W, 3]."""
    height, width, _ = values.shape
    rows = b"".join(b"\x00" + values[y].astype(">u2").tobytes() for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)  # bit depth 16, colour type 2 (RGB)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


# -- 16-bit and float images ------------------------------------------------------------------------

def test_16_bit_greyscale_png_is_scaled_not_clipped_to_white():
    values = np.array([[0, 257, 30000, 65535], [128, 129, 32896, 65279]] * 2, dtype=np.uint16)
    data = png(Image.fromarray(values))
    assert Image.open(io.BytesIO(data)).mode == "I;16"  # the mode whose plain convert("RGB") is all white
    pixels = decode_image(data, 4)  # 4x4: no crop, no resize
    expected = np.rint(values / 257).astype(np.uint8)
    assert np.array_equal(pixels, np.repeat(expected[:, :, None], 3, axis=2))


def test_16_bit_rgb_png_keeps_its_colours():
    values = np.zeros((2, 2, 3), dtype=np.uint16)
    values[0, 0], values[0, 1] = (65535, 0, 0), (0, 32896, 0)
    values[1, 0], values[1, 1] = (0, 0, 257), (1000, 2000, 3000)
    pixels = decode_image(rgb16_png(values), 2)
    assert np.abs(pixels.astype(int) - values / 257).max() <= 1  # PIL keeps the high byte: within 1 level


def test_32_bit_integer_and_float_tiffs_are_scaled():
    integers = np.array([[0, 65535], [257 * 100, 257 * 200]], dtype=np.int32)
    buffer = io.BytesIO()
    Image.fromarray(integers, mode="I").save(buffer, format="TIFF")
    assert decode_image(buffer.getvalue(), 2)[:, :, 0].tolist() == [[0, 255], [100, 200]]
    floats = np.array([[0.0, 1.0], [0.5, 2.0]], dtype=np.float32)  # [0, 1] is the range; 2.0 clips
    buffer = io.BytesIO()
    Image.fromarray(floats, mode="F").save(buffer, format="TIFF")
    assert decode_image(buffer.getvalue(), 2)[:, :, 1].tolist() == [[0, 255], [128, 255]]


# -- EXIF orientation -------------------------------------------------------------------------------

def tagged(image: Image.Image, orientation: int, fmt: str = "PNG") -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, exif=exif.tobytes(), **({"quality": 95} if fmt == "JPEG" else {}))
    return buffer.getvalue()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_is_applied(orientation):
    stored = Image.fromarray(np.arange(4 * 4 * 3, dtype=np.uint8).reshape(4, 4, 3) * 5)  # 16 distinct pixels
    data = tagged(stored, orientation)
    upright = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
    assert np.array_equal(decode_image(data, 4), upright)
    assert orientation == 1 or not np.array_equal(upright, np.asarray(stored))


def test_a_portrait_stored_sideways_comes_out_upright_through_the_jpeg_path():
    # Orientation 6: the camera stored the picture turned; the viewer turns it 90 degrees clockwise,
    # so the stored left column (red) becomes the top row.
    stored = np.full((64, 64, 3), 255, dtype=np.uint8)
    stored[:, :16] = (255, 0, 0)
    pixels = decode_image(tagged(Image.fromarray(stored), 6, fmt="JPEG"), 16)
    top, bottom = pixels[0].astype(int), pixels[-1].astype(int)
    assert (top[:, 0] > 200).all() and (top[:, 1] < 60).all(), top  # red
    assert (bottom > 200).all(), bottom  # white


# -- transparency -----------------------------------------------------------------------------------

def test_rgba_is_composited_on_the_documented_background():
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[0, 0] = (12, 200, 7, 0)  # fully transparent: the hidden colour must not show
    rgba[0, 1] = (12, 200, 7, 255)  # opaque: unchanged
    rgba[1, 0] = (0, 0, 0, 128)  # half: halfway to the background
    rgba[1, 1] = (200, 100, 50, 64)
    pixels = decode_image(png(Image.fromarray(rgba, "RGBA")), 2).astype(int)
    alpha = rgba[..., 3:].astype(float) / 255
    expected = rgba[..., :3] * alpha + WHITE * (1 - alpha)
    assert np.abs(pixels - expected).max() <= 1
    assert pixels[0, 0].tolist() == WHITE.tolist()


def test_la_palette_and_colour_key_transparency_are_composited():
    la = np.array([[[40, 0], [40, 255]]], dtype=np.uint8)  # 1x2 grey + alpha
    assert decode_image(png(Image.fromarray(la, "LA")), 1).tolist() == [[WHITE.tolist()]]  # left crop: transparent
    palette = Image.new("P", (2, 2))
    palette.putpalette([10, 20, 30, 200, 100, 0])
    palette.putpixel((1, 1), 1)
    pixels = decode_image(png(palette, transparency=0), 2)  # palette entry 0 is transparent
    assert pixels[0, 0].tolist() == WHITE.tolist() and pixels[1, 1].tolist() == [200, 100, 0]
    keyed = Image.new("RGB", (2, 2), (10, 20, 30))
    keyed.putpixel((0, 1), (1, 2, 3))
    pixels = decode_image(png(keyed, transparency=(10, 20, 30)), 2)  # tRNS colour key
    assert pixels[0, 0].tolist() == WHITE.tolist() and pixels[1, 0].tolist() == [1, 2, 3]
    grey16 = Image.fromarray(np.array([[1000, 65535]], dtype=np.uint16))
    assert decode_image(png(grey16, transparency=1000), 1).tolist() == [[WHITE.tolist()]]


# -- ordinary JPEGs keep the fast path --------------------------------------------------------------

def test_ordinary_jpegs_are_decoded_at_a_reduced_scale(monkeypatch):
    sizes = []
    real_draft = JpegImageFile.draft

    def recording_draft(self, mode, size):
        result = real_draft(self, mode, size)
        sizes.append(self.size)
        return result

    monkeypatch.setattr(JpegImageFile, "draft", recording_draft)
    photo = np.random.default_rng(0).integers(0, 256, (600, 800, 3), dtype=np.uint8)
    pixels = decode_image(encode(Image.fromarray(photo), "JPEG"), 128)
    assert pixels.shape == (128, 128, 3)
    assert sizes == [(200, 150)]  # 1/4 scale: the smallest with both sides still >= 128


# -- small images -----------------------------------------------------------------------------------

def test_an_image_below_min_side_is_refused_before_its_pixels_are_decoded():
    data = png(Image.new("RGB", (30, 20)))
    assert decode(data, 32).source_side == 20
    with pytest.raises(ImageTooSmallError, match="30x20 is smaller than min_image_side=24"):
        decode(data, 32, min_side=24)
    assert decode(data, 32, min_side=20).pixels.shape == (32, 32, 3)


def test_images_smaller_than_the_resolution_are_counted_and_optionally_skipped(tmp_path, caplog):
    # id images are 24x16: shorter side 16. At resolution 8 they are downscaled, at 20 upscaled.
    folder = write_parquet_folder(tmp_path / "pq", num_images=6, num_shards=1)
    with caplog.at_level("WARNING"):
        kept = open_stream(train_data_dir=str(folder), resolution=20, batch_size=6, shuffle_buffer_size=0)
        (batch,) = kept.iter_one_pass()
    assert batch["pixel_values"].shape == (6, 3, 20, 20) and sorted(ids_of(batch["pixel_values"])) == list(range(6))
    counts = kept.image_counts
    assert (counts.upscaled, counts.too_small, counts.undecodable) == (6, 0, 0) and kept.skipped_images == 0
    assert caplog.text.count("is upscaled to 20 px") == 1  # once, not once per image
    assert "--min_image_side" in caplog.text

    skipping = open_stream(train_data_dir=str(folder), resolution=20, batch_size=2, shuffle_buffer_size=0,
                           min_image_side=20)
    assert list(skipping.iter_one_pass()) == []
    assert skipping.image_counts.too_small == 6 and skipping.skipped_images == 6
    small_ok = open_stream(train_data_dir=str(folder), resolution=8, batch_size=6, min_image_side=16)
    assert len(ids_of(next(small_ok.iter_one_pass())["pixel_values"])) == 6
    assert small_ok.image_counts.upscaled == 0


def test_min_image_side_is_a_flag_of_train_and_reference_stats():
    from sagan_hf.cli import reference_stats, train

    config = train.config_from_args(["--preset", "shapes-tiny", "--min_image_side", "64"])
    assert config.min_image_side == 64
    args = reference_stats.build_parser().parse_args(
        ["--resolution", "32", "--output", "r.npz", "--min_image_side", "32"])
    assert args.min_image_side == 32
    with pytest.raises(ValueError, match="min_image_side"):
        open_stream(resolution=8, batch_size=2, min_image_side=0)


# -- undecodable files ------------------------------------------------------------------------------

def test_an_undecodable_file_is_reported_once_but_skipped_on_every_pass(tmp_path, caplog):
    folder = write_parquet_folder(tmp_path / "pq", num_images=12, num_shards=2, corrupt=(3, 8))
    stream = open_stream(train_data_dir=str(folder), resolution=8, batch_size=5, shuffle_buffer_size=4)
    iterator = iter(stream)
    with caplog.at_level("WARNING"):
        seen = [i for _ in range(6) for i in ids_of(next(iterator)["pixel_values"])]  # 3 passes of 2 batches
    assert stream.epoch == 2 and 3 not in seen and 8 not in seen
    assert caplog.text.count("could not be decoded") == 2  # two files, each reported once
    assert stream.image_counts.undecodable >= 4 and stream.skipped_images == stream.image_counts.undecodable


# -- labels -----------------------------------------------------------------------------------------

def test_parquet_labels_outside_the_classes_are_refused_when_the_stream_opens(tmp_path):
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = write_parquet_folder(tmp_path / "pq", num_images=20, num_shards=2, num_classes=3)
    # The second shard keeps the 3-class ClassLabel schema but holds a 5 (datasets itself would refuse
    # to write it, other writers do not): refused from the footers, before any image is read.
    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=["a", "b", "c"])})
    images = [{"bytes": png(Image.new("RGB", (4, 4))), "path": None}] * 2
    table = datasets.Dataset.from_dict({"image": images, "label": [0, 0]}, features=features).data.table
    pq.write_table(table.set_column(1, table.schema.field(1), pa.array([1, 5], pa.int64())),
                   folder / "train-00001-of-00002.parquet")
    with pytest.raises(ValueError, match=r"train-00001-of-00002\.parquet range from 1 to 5, outside \[0, 3\)"):
        open_stream(train_data_dir=str(folder), resolution=8, batch_size=2)


def test_a_bad_plain_integer_label_names_its_sample_and_shard(tmp_path):
    folder = write_webdataset_folder(tmp_path / "wds", num_images=6, num_shards=2, num_classes=4)
    data = open_stream(train_data_dir=str(folder), resolution=8, batch_size=2, num_classes=2,
                       shuffle_buffer_size=0)
    assert data.num_classes == 2  # the given count wins over classes.txt
    # sample 1 has label (1 * 7) % 4 = 3, the first outside [0, 2).
    with pytest.raises(ValueError, match=r"label 3 in column 'cls' \(.*sample sample000001, in .*train-0000\.tar"):
        list(data.iter_one_pass())

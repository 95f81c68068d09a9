"""The built-in shapes dataset: deterministic, class-balanced, atomically written, streamable."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from sagan_hf.data.shapes import SHAPES_CLASSES, ensure_shapes_dataset
from sagan_hf.data.shapes import dataset as shapes_dataset
from streams import open_stream
from sagan_hf.data.decode import decode_image


def read_split(folder, split):
    images, labels = [], []
    for path in sorted(folder.glob(f"{split}-*.parquet")):
        table = pq.read_table(path)
        images += [decode_image(cell, 64) for cell in table.column("image").to_pylist()]
        labels += table.column("label").to_pylist()
    return np.stack(images), labels


def test_same_seed_gives_the_same_images_and_another_seed_does_not(tmp_path):
    settings = dict(num_images=40, num_test_images=10, num_shards=2)
    first = read_split(ensure_shapes_dataset(tmp_path / "a", seed=3, **settings), "train")
    again = read_split(ensure_shapes_dataset(tmp_path / "b", seed=3, **settings), "train")
    other = read_split(ensure_shapes_dataset(tmp_path / "c", seed=4, **settings), "train")
    assert np.array_equal(first[0], again[0]) and first[1] == again[1]
    assert not np.array_equal(first[0], other[0])


def test_classes_are_balanced_and_images_are_bright_shapes_on_dark(tmp_path):
    folder = ensure_shapes_dataset(tmp_path, num_images=100, num_test_images=25, num_shards=4)
    assert len(list(folder.glob("train-*.parquet"))) == 4
    images, labels = read_split(folder, "train")
    assert images.shape == (100, 64, 64, 3)
    assert Counter(labels) == {c: 20 for c in range(len(SHAPES_CLASSES))}
    assert Counter(read_split(folder, "test")[1]) == {c: 5 for c in range(len(SHAPES_CLASSES))}
    brightness = images.max(axis=3)  # HSV value of each pixel
    corners = brightness[:, [0, 0, -1, -1], [0, -1, 0, -1]]
    assert corners.max() <= 0.3 * 255 + 1  # background
    assert (brightness.max(axis=(1, 2)) >= 0.85 * 255 - 1).all()  # every image has its shape
    shape_area = (brightness > 128).mean(axis=(1, 2))
    assert shape_area.min() > 0.02 and shape_area.max() < 0.6
    # Different classes really look different: a circle covers more of its box than a plus.
    by_class = {c: shape_area[np.array(labels) == c].mean() for c in range(5)}
    assert by_class[SHAPES_CLASSES.index("circle")] > by_class[SHAPES_CLASSES.index("ring")]


def test_second_call_reuses_the_set_and_no_temporary_folder_is_left(tmp_path):
    folder = ensure_shapes_dataset(tmp_path, num_images=10, num_test_images=0, num_shards=1)
    stamp = os.stat(folder / "train-00000-of-00001.parquet").st_mtime_ns
    assert ensure_shapes_dataset(tmp_path, num_images=10, num_test_images=0, num_shards=1) == folder
    assert os.stat(folder / "train-00000-of-00001.parquet").st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]


def test_a_failed_write_leaves_no_set_behind(tmp_path, monkeypatch):
    real_write_shard = shapes_dataset._write_shard
    calls = []

    def failing_write_shard(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed mid-write")
        return real_write_shard(*args, **kwargs)

    monkeypatch.setattr(shapes_dataset, "_write_shard", failing_write_shard)
    with pytest.raises(KeyboardInterrupt):
        ensure_shapes_dataset(tmp_path, num_images=20, num_test_images=0, num_shards=2)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(shapes_dataset, "_write_shard", real_write_shard)
    folder = ensure_shapes_dataset(tmp_path, num_images=20, num_test_images=0, num_shards=2)
    assert len(read_split(folder, "train")[1]) == 20


def test_a_killed_writers_temporary_folder_is_cleaned_up(tmp_path):
    name = "v1-res64-n10-shards1-test0-seed0"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".tmp-{name}-{dead.pid}-abcd1234"
    stale.mkdir()
    (stale / "train-00000-of-00001.parquet").write_bytes(b"half a file")
    folder = ensure_shapes_dataset(tmp_path, num_images=10, num_test_images=0, num_shards=1)
    assert folder.name == name and not stale.exists()


def test_two_writers_starting_at_once_get_one_complete_set(tmp_path):
    # Threads race on the same final rename as two processes would (each writer has its own
    # temporary folder); processes would spend most of this test importing libraries.
    start = threading.Barrier(2)
    results = []

    def writer():
        start.wait()
        results.append(ensure_shapes_dataset(tmp_path, num_images=300, num_test_images=0, num_shards=2))

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 2 and results[0] == results[1]
    assert [p.name for p in tmp_path.iterdir()] == [results[0].name]
    assert len(read_split(results[0], "train")[1]) == 300


def test_bad_arguments_raise(tmp_path):
    with pytest.raises(ValueError, match="num_images"):
        ensure_shapes_dataset(tmp_path, num_images=0)
    with pytest.raises(ValueError, match="num_shards"):
        ensure_shapes_dataset(tmp_path, num_images=3, num_shards=4)


def test_shapes_is_the_default_stream_with_five_named_classes():
    data = open_stream(resolution=32, batch_size=16, shuffle_buffer_size=64)
    assert data.num_classes == 5 and data.class_names == list(SHAPES_CLASSES)
    batch = next(iter(data))
    assert batch["pixel_values"].shape == (16, 3, 32, 32) and batch["pixel_values"].dtype == torch.float32
    assert batch["pixel_values"].min() >= -1 and batch["pixel_values"].max() <= 1
    assert batch["class_labels"].dtype == torch.int64 and set(batch["class_labels"].tolist()) <= set(range(5))
    named = open_stream(dataset_name="shapes", resolution=16, batch_size=4)
    assert named.num_classes == 5

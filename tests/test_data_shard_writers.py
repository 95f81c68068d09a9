"""Writers of small real data folders (parquet, webdataset tars, image folders) for the data tests.

Every image has a unique id coded in its colour, red = id % 256 and green = id // 256, on a centre
square; the left and right strips of the (wider than tall) image are white, so an image that was
not centre-cropped shows it. The tests read the ids back from the decoded pixels.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import datasets
import numpy as np
import pyarrow.parquet as pq
import torch
from PIL import Image

WIDTH, HEIGHT = 24, 16  # centre crop keeps columns 4..19


def id_image(index: int, height: int = HEIGHT) -> Image.Image:
    """A (1.5 * height) x height image whose centre square has the colour of ``index``."""
    width = height * WIDTH // HEIGHT
    margin = (width - height) // 2
    pixels = np.full((height, width, 3), 255, dtype=np.uint8)
    pixels[:, margin:margin + height] = (index % 256, index // 256, 128)
    return Image.fromarray(pixels)


def encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def label_of(index: int, num_classes: int) -> int:
    return (index * 7) % num_classes


def write_parquet_folder(folder: Path, num_images: int, num_shards: int, num_classes: int = 3,
                         corrupt: tuple[int, ...] = ()) -> Path:
    """Parquet shards with Image + ClassLabel features; ids in ``corrupt`` get garbage bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    features = datasets.Features(
        {"image": datasets.Image(), "label": datasets.ClassLabel(names=[f"c{i}" for i in range(num_classes)])}
    )
    ids = np.array_split(np.arange(num_images), num_shards)
    for shard, shard_ids in enumerate(ids):
        images = [
            {"bytes": b"not an image: %d" % i if i in corrupt else encode(id_image(int(i)), "PNG")}
            for i in shard_ids
        ]
        labels = [label_of(int(i), num_classes) for i in shard_ids]
        table = datasets.Dataset.from_dict({"image": images, "label": labels}, features=features).data.table
        pq.write_table(table, folder / f"train-{shard:05d}-of-{num_shards:05d}.parquet", row_group_size=7)
    return folder


def write_webdataset_folder(folder: Path, num_images: int, num_shards: int, num_classes: int = 4,
                            with_class_file: bool = True) -> Path:
    """Webdataset tars of ``key.jpg`` + ``key.cls`` members, written with ``tarfile``."""
    folder.mkdir(parents=True, exist_ok=True)
    for shard, shard_ids in enumerate(np.array_split(np.arange(num_images), num_shards)):
        with tarfile.open(folder / f"train-{shard:04d}.tar", "w") as tar:
            for i in shard_ids:
                key = f"sample{int(i):06d}"
                members = {
                    "jpg": encode(id_image(int(i)), "JPEG"),
                    "cls": str(label_of(int(i), num_classes)).encode(),
                }
                for extension, data in members.items():
                    member = tarfile.TarInfo(f"{key}.{extension}")
                    member.size = len(data)
                    tar.addfile(member, io.BytesIO(data))
    if with_class_file:
        (folder / "classes.txt").write_text("\n".join(f"k{i}" for i in range(num_classes)) + "\n")
    return folder


def imagenet_parquet_repo(num_images: int, num_shards: int, num_classes: int, split: str = "train",
                          label=label_of, height: int = HEIGHT) -> dict[str, bytes]:
    """A dataset repo laid out like ILSVRC/imagenet-1k: ``data/{split}-0000i-of-0000n.parquet`` with
    ``image`` ({bytes, path}) and a ``label`` ClassLabel, declared in the README's YAML as there."""
    features = datasets.Features(
        {"image": datasets.Image(), "label": datasets.ClassLabel(names=[f"c{i}" for i in range(num_classes)])}
    )
    files = {}
    for shard, shard_ids in enumerate(np.array_split(np.arange(num_images), num_shards)):
        rows = {
            "image": [{"bytes": encode(id_image(int(i), height), "PNG"), "path": f"img{int(i):05d}.png"}
                      for i in shard_ids],
            "label": [label(int(i), num_classes) for i in shard_ids],
        }
        table = datasets.Dataset.from_dict(rows, features=features).data.table
        buffer = io.BytesIO()
        pq.write_table(table, buffer, row_group_size=7)
        files[f"data/{split}-{shard:05d}-of-{num_shards:05d}.parquet"] = buffer.getvalue()
    names = "\n".join(f"          '{i}': c{i}" for i in range(num_classes))
    files["README.md"] = (
        "---\nconfigs:\n- config_name: default\n  data_files:\n"
        f"  - split: {split}\n    path: data/{split}-*\n"
        "dataset_info:\n  features:\n  - name: image\n    dtype: image\n  - name: label\n    dtype:\n"
        f"      class_label:\n        names:\n{names}\n---\n# A tiny ImageNet-shaped parquet set\n"
    ).encode()
    return files


def timm_webdataset_repo(num_images: int, num_shards: int, num_classes: int) -> dict[str, bytes]:
    """A dataset repo laid out like timm/imagenet-1k-wds: ``imagenet1k-train-000i.tar`` shards of
    ``key.jpg`` + ``key.cls`` (the label as text) + ``key.json``; no ClassLabel anywhere."""
    folder_files = {}
    for shard, shard_ids in enumerate(np.array_split(np.arange(num_images), num_shards)):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for i in shard_ids:
                members = {
                    "jpg": encode(id_image(int(i)), "JPEG"),
                    "cls": str(label_of(int(i), num_classes)).encode(),
                    "json": b'{"filename": "img%05d.JPEG"}' % int(i),
                }
                for extension, data in members.items():
                    member = tarfile.TarInfo(f"sample{int(i):06d}.{extension}")
                    member.size = len(data)
                    tar.addfile(member, io.BytesIO(data))
        folder_files[f"imagenet1k-train-{shard:04d}.tar"] = buffer.getvalue()
    folder_files["README.md"] = (
        b"---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n"
        b"    path: imagenet1k-train-*.tar\n---\n# A tiny timm-style webdataset\n"
    )
    return folder_files


def write_image_folder(folder: Path, per_class: dict[str, list[int]]) -> Path:
    """``folder/<class name>/<id>.png`` files."""
    for name, ids in per_class.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in ids:
            id_image(i).save(folder / name / f"{i}.png")
    return folder


def ids_of(pixel_values: torch.Tensor) -> list[int]:
    """Read the ids back from a batch in [-1, 1] (exact for lossless formats)."""
    pixels = ((pixel_values + 1) * 127.5).round().to(torch.int64)
    red, green = pixels[:, 0].flatten(1), pixels[:, 1].flatten(1)
    assert bool((red == red[:, :1]).all()), "image not uniform: the centre crop is wrong"
    return (red[:, 0] + 256 * green[:, 0]).tolist()


def test_writers_make_readable_files(tmp_path):
    write_parquet_folder(tmp_path / "pq", num_images=5, num_shards=2)
    write_webdataset_folder(tmp_path / "wds", num_images=5, num_shards=2)
    assert len(list((tmp_path / "pq").glob("*.parquet"))) == 2
    with tarfile.open(tmp_path / "wds" / "train-0000.tar") as tar:
        assert sorted(tar.getnames())[:2] == ["sample000000.cls", "sample000000.jpg"]
    centre = torch.from_numpy(np.array(id_image(300))[:, 4:20]).permute(2, 0, 1)[None]
    assert ids_of(centre.float() / 127.5 - 1) == [300]

"""Data-pipeline benchmark: JPEG decode to 128 px, alone and through the training stream.

The benchmark writes its own shards into a temporary folder: ImageNet-sized JPEGs (500x375, quality
90, smooth content plus grain, so that they compress like photographs rather than like noise) as
parquet shards with datasets' Image/ClassLabel features and as webdataset tars (.jpg + .cls).
"""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path

import datasets
import numpy as np
import torch
from PIL import Image

from sagan_hf.data import DataOptions, ImageBatchStream
from sagan_hf.data.decode import decode_image

from results import Row

WIDTH, HEIGHT, QUALITY, NUM_CLASSES = 500, 375, 90, 10


def photo_like_jpeg(index: int) -> bytes:
    """A 500x375 JPEG: a colour gradient, low-frequency blobs and mild grain, seeded by `index`."""
    rng = np.random.default_rng(index)
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    base = rng.uniform(0, 255, 3) * (xs[..., None] / WIDTH) + rng.uniform(0, 255, 3) * (ys[..., None] / HEIGHT)
    coarse = rng.uniform(-60, 60, (12, 16, 3)).astype(np.float32)
    blobs = np.asarray(Image.fromarray(((coarse + 60) * 2).astype(np.uint8)).resize((WIDTH, HEIGHT), Image.BICUBIC))
    pixels = 0.5 * base + blobs.astype(np.float32) - 60 + rng.normal(0, 8, (HEIGHT, WIDTH, 3))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, format="JPEG", quality=QUALITY)
    return buffer.getvalue()


def write_shards(folder: Path, num_images: int, num_shards: int = 2) -> tuple[Path, Path, list[bytes]]:
    """Parquet and webdataset folders holding the same JPEGs; returns both folders and the raw bytes."""
    jpegs = [photo_like_jpeg(i) for i in range(num_images)]
    labels = [i % NUM_CLASSES for i in range(num_images)]
    parquet_dir, wds_dir = folder / "parquet", folder / "webdataset"
    parquet_dir.mkdir(parents=True)
    wds_dir.mkdir(parents=True)
    features = datasets.Features(
        {"image": datasets.Image(), "label": datasets.ClassLabel(names=[f"class{i}" for i in range(NUM_CLASSES)])}
    )
    for shard, ids in enumerate(np.array_split(np.arange(num_images), num_shards)):
        rows = {"image": [{"bytes": jpegs[i], "path": None} for i in ids], "label": [labels[i] for i in ids]}
        datasets.Dataset.from_dict(rows, features=features).to_parquet(str(parquet_dir / f"train-{shard:05d}.parquet"))
        with tarfile.open(wds_dir / f"train-{shard:05d}.tar", "w") as tar:
            for i in ids:
                for extension, data in (("jpg", jpegs[i]), ("cls", str(labels[i]).encode())):
                    member = tarfile.TarInfo(f"sample{int(i):06d}.{extension}")
                    member.size = len(data)
                    tar.addfile(member, io.BytesIO(data))
    return parquet_dir, wds_dir, jpegs


def decode_without_draft(data: bytes, resolution: int) -> np.ndarray:
    """The plain way: full-size decode, centre crop, bicubic resize (what decode_image does minus draft)."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side)).resize((resolution, resolution), Image.BICUBIC)
    return np.asarray(image)


def _row(variant: str, images: int, seconds: float, batch: int, workers: int, baseline: bool = False,
         default: bool = False) -> Row:
    return Row(
        section="data", group="decode 128 px", variant=variant, device="cpu", dtype="uint8", batch=batch,
        threads=torch.get_num_threads(), iters=images, seconds_per_iter=seconds / images,
        items_per_second=images / seconds, baseline=baseline, default=default,
        extra={"workers": workers, "per_worker_img_s": round(images / seconds / max(1, workers), 1)},
    )


def decode_rows(jpegs: list[bytes], resolution: int) -> list[Row]:
    """Per-image decode in this process, without and with PIL's draft mode."""
    rows = []
    for name, fn, baseline in (
        ("PIL full decode + resize, 1 process", decode_without_draft, True),
        ("decode_image (draft), 1 process", lambda data, r: decode_image(data, r), False),
    ):
        fn(jpegs[0], resolution)
        start = time.perf_counter()
        for data in jpegs:
            fn(data, resolution)
        rows.append(_row(name, len(jpegs), time.perf_counter() - start, 1, 1, baseline))
    return rows


def stream_row(name: str, folder: Path, resolution: int, batch: int, workers: int | None,
               shuffle_buffer_size: int | None = 0) -> Row:
    """One pass of ImageBatchStream over `folder`; the first batch (start-up) is not timed. `workers` or
    `shuffle_buffer_size` left at None take DataOptions' defaults (the default-path row)."""
    settings = {"dataloader_num_workers": workers, "shuffle_buffer_size": shuffle_buffer_size}
    options = DataOptions(train_data_dir=str(folder), num_classes=NUM_CLASSES,
                          **{k: v for k, v in settings.items() if v is not None})
    workers = options.dataloader_num_workers
    stream = ImageBatchStream(options, resolution=resolution, batch_size=batch)
    iterator = stream.iter_one_pass()
    next(iterator)
    start, images = time.perf_counter(), 0
    for item in iterator:
        images += item["pixel_values"].shape[0]
    seconds = time.perf_counter() - start
    stream.close()
    default = settings == {"dataloader_num_workers": None, "shuffle_buffer_size": None}
    return _row(name, images, seconds, batch, max(1, workers), default=default)


def measure(folder: Path, num_images: int, resolution: int, batch: int, worker_counts: list[int]) -> list[Row]:
    parquet_dir, wds_dir, jpegs = write_shards(folder, num_images)
    rows = decode_rows(jpegs[: min(len(jpegs), 128)], resolution)
    rows.append(stream_row("ImageBatchStream parquet, 0 workers", parquet_dir, resolution, batch, 0))
    rows.append(stream_row("ImageBatchStream webdataset, 0 workers", wds_dir, resolution, batch, 0))
    rows.append(stream_row("ImageBatchStream parquet, DataOptions defaults", parquet_dir, resolution, batch, None, None))
    for workers in worker_counts:
        rows.append(stream_row(f"ImageBatchStream parquet, {workers} workers", parquet_dir, resolution, batch, workers))
    return rows

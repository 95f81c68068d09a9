"""The built-in ``shapes`` dataset, written once as local parquet shards and streamed like any other.

Layout of one set (``ensure_shapes_dataset`` returns the folder)::

    $SAGAN_HF_CACHE/shapes/v1-res64-n10000-seed0/
        train-00000-of-00004.parquet ... train-00003-of-00004.parquet
        test-00000-of-00001.parquet      held-out images (other random draws) for the classifier
        shapes_info.json

Features are ``image: Image()`` (PNG bytes) and ``label: ClassLabel(names=SHAPES_CLASSES)``, so
``datasets`` reads the class names back from the parquet schema. The folder appears by an atomic
rename of a finished temporary folder: concurrent first uses or a kill mid-write never leave a
partial set behind.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import uuid
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from .drawing import SHAPES_CLASSES, draw_shape_image

FORMAT_VERSION = 1  # bump when the drawing changes, so old cached sets are not reused
DEFAULT_NUM_IMAGES = 10_000
DEFAULT_NUM_TEST_IMAGES = 1_000
DEFAULT_NUM_SHARDS = 4
_SPLIT_SEED_OFFSETS = {"train": 0, "test": 1}


def shapes_cache_root() -> Path:
    """``$SAGAN_HF_CACHE/shapes`` (default ``~/.cache/sagan_hf/shapes``)."""
    base = os.environ.get("SAGAN_HF_CACHE") or os.path.join("~", ".cache", "sagan_hf")
    return Path(base).expanduser() / "shapes"


def shapes_features() -> datasets.Features:
    """The ``datasets`` features of the shapes set."""
    labels = datasets.ClassLabel(names=list(SHAPES_CLASSES))
    return datasets.Features({"image": datasets.Image(), "label": labels})


def _balanced_labels(count: int, rng: np.random.Generator) -> np.ndarray:
    return rng.permutation(np.arange(count) % len(SHAPES_CLASSES))


def _png_bytes(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _write_shard(path: Path, count: int, resolution: int, rng: np.random.Generator, progress) -> None:
    labels = _balanced_labels(count, rng)
    images = []
    for label in labels:
        images.append({"bytes": _png_bytes(draw_shape_image(int(label), resolution, rng)), "path": None})
        progress.update(1)
    schema = shapes_features().arrow_schema  # carries the features as metadata for datasets
    table = pa.Table.from_pydict({"image": images, "label": labels.astype(np.int64)}, schema=schema)
    pq.write_table(table, path, row_group_size=256)


def _split_sizes(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _write_set(
    folder: Path, *, num_images: int, num_test_images: int, num_shards: int, resolution: int, seed: int
) -> None:
    plan = [("train", size, num_shards) for size in _split_sizes(num_images, num_shards)]
    plan += [("test", num_test_images, 1)] if num_test_images > 0 else []
    with tqdm(total=num_images + num_test_images, desc="Drawing the shapes dataset", unit="img") as progress:
        shard_index = {"train": 0, "test": 0}
        for split, size, split_shards in plan:
            index = shard_index[split]
            shard_index[split] += 1
            rng = np.random.default_rng([seed, _SPLIT_SEED_OFFSETS[split], index])
            name = f"{split}-{index:05d}-of-{split_shards:05d}.parquet"
            _write_shard(folder / name, size, resolution, rng, progress)
    info = {
        "format_version": FORMAT_VERSION,
        "classes": list(SHAPES_CLASSES),
        "resolution": resolution,
        "num_images": num_images,
        "num_test_images": num_test_images,
        "num_shards": num_shards,
        "seed": seed,
    }
    (folder / "shapes_info.json").write_text(json.dumps(info, indent=2), encoding="utf-8")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _remove_stale_temporaries(root: Path, name: str) -> None:
    """Delete temporary folders left by writers that were killed (their process is gone)."""
    for temporary in root.glob(f".tmp-{name}-*"):
        pid = temporary.name[len(f".tmp-{name}-") :].split("-")[0]
        if pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(temporary, ignore_errors=True)


def ensure_shapes_dataset(
    root: str | os.PathLike | None = None,
    num_images: int = DEFAULT_NUM_IMAGES,
    resolution: int = 64,
    seed: int = 0,
    *,
    num_shards: int = DEFAULT_NUM_SHARDS,
    num_test_images: int = DEFAULT_NUM_TEST_IMAGES,
) -> Path:
    """Return the folder of the shapes set for these settings, drawing it first if needed.

    Args:
        root: parent folder; defaults to ``$SAGAN_HF_CACHE/shapes``.
        num_images: training images, spread over ``num_shards`` parquet shards (classes balanced).
        resolution: image side in pixels (64 serves both 32 and 64 px training).
        seed: the same seed always gives the same images.
        num_shards: training shards; a multiple of the number of ranks shards best.
        num_test_images: held-out images in the ``test`` split (0 for none).
    """
    for name, value, minimum in (
        ("num_images", num_images, 1),
        ("resolution", resolution, 8),
        ("seed", seed, 0),
        ("num_shards", num_shards, 1),
        ("num_test_images", num_test_images, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if num_shards > num_images:
        raise ValueError(f"num_shards ({num_shards}) cannot exceed num_images ({num_images})")
    root = Path(root).expanduser() if root is not None else shapes_cache_root()
    settings = f"res{resolution}-n{num_images}-shards{num_shards}-test{num_test_images}-seed{seed}"
    folder = root / f"v{FORMAT_VERSION}-{settings}"
    if folder.is_dir():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(root, folder.name)
    temporary = root / f".tmp-{folder.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    temporary.mkdir()
    try:
        _write_set(
            temporary, num_images=num_images, num_test_images=num_test_images,
            num_shards=num_shards, resolution=resolution, seed=seed,
        )
        try:
            os.rename(temporary, folder)
        except OSError:
            if not folder.is_dir():  # not a lost race with another process: a real error
                raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return folder

"""Opening a streamed image dataset and finding its image column, label column and class count.

Three sources end up as one ``datasets.IterableDataset`` read with ``streaming=True``: a Hub dataset
id, a local folder (parquet shards, webdataset tars or an image folder) and the built-in ``shapes``
set, which is a local parquet folder written on first use.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import datasets
from datasets.exceptions import DatasetNotFoundError

from .label_check import check_parquet_label_ranges

logger = logging.getLogger(__name__)

IMAGE_COLUMN_CANDIDATES = ("image", "img", "jpg", "png", "jpeg", "webp")
LABEL_COLUMN_CANDIDATES = ("label", "labels", "cls", "class", "fine_label")
IMAGE_FILE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
# Columns that say where an example comes from (webdataset's sample key and shard URL).
PROVENANCE_COLUMNS = ("__key__", "__url__")
# A local folder may carry its class names, one a line, when its format has no ClassLabel feature.
CLASS_NAMES_FILE = "classes.txt"

# Hub datasets whose label column is a plain integer: their class count has to be known here.
KNOWN_NUM_CLASSES = {
    "timm/imagenet-1k-wds": 1000,
    "timm/imagenet-22k-wds": 21841,
}


@dataclass
class ImageStream:
    """A streamed dataset with the columns the training stream reads from it."""

    dataset: datasets.IterableDataset
    image_column: str
    label_column: str | None
    num_classes: int
    class_names: list[str] | None


def detect_local_builder(folder: Path) -> str:
    """Pick the ``datasets`` packaged builder for a local folder from the files it holds."""
    suffixes = {path.suffix.lower() for path in folder.rglob("*") if path.is_file()}
    if ".parquet" in suffixes:
        return "parquet"
    if ".tar" in suffixes:
        return "webdataset"
    if suffixes & IMAGE_FILE_SUFFIXES:
        return "imagefolder"
    raise ValueError(
        f"train_data_dir {str(folder)!r} holds no .parquet, .tar or image files; expected a folder of "
        "parquet shards, webdataset .tar shards or images in class subfolders"
    )


def load_streaming_dataset(
    *, dataset_name: str | None, train_data_dir: str | None, split: str, cache_dir: str | None
) -> tuple[datasets.IterableDataset, str | None, datasets.DatasetBuilder]:
    """Open the stream; returns it, the local folder (where classes.txt may be) and the builder.

    ``load_dataset_builder(...).as_streaming_dataset(split)`` is what ``load_dataset(...,
    streaming=True)`` does; keeping the builder gives us the data files (for the label check).
    """
    if train_data_dir is not None:
        folder = Path(train_data_dir).expanduser()
        if not folder.is_dir():
            raise ValueError(f"train_data_dir {str(folder)!r} is not an existing folder")
        builder_name = detect_local_builder(folder)
        logger.info("Streaming local %s data from %s (split %r)", builder_name, folder, split)
        builder = datasets.load_dataset_builder(builder_name, data_dir=str(folder), cache_dir=cache_dir)
        return builder.as_streaming_dataset(split=split), str(folder), builder
    logger.info("Streaming Hub dataset %s (split %r)", dataset_name, split)
    try:
        builder = datasets.load_dataset_builder(dataset_name, cache_dir=cache_dir)
    except DatasetNotFoundError as error:  # missing, private or gated: say how to get access
        raise ValueError(
            f"{error} For a gated dataset (both ImageNet-1k forms), accept its terms on the Hub, then log in "
            "with `hf auth login` or set HF_TOKEN."
        ) from None
    return builder.as_streaming_dataset(split=split), None, builder


def split_data_files(builder: datasets.DatasetBuilder, split: str) -> list[str]:
    """The data files (local paths or hf:// URLs) the builder streams for `split`; [] if unknown."""
    data_files = getattr(builder.config, "data_files", None) or {}
    for name, files in data_files.items():
        if str(name) == split:
            return list(files)
    return []


def _pick_column(columns: list[str], given: str | None, candidates: tuple[str, ...], what: str) -> str | None:
    if given is not None:
        if given not in columns:
            raise ValueError(f"{what} column {given!r} is not in the dataset; its columns are {columns}")
        return given
    lowered = {column.lower(): column for column in columns}
    for candidate in candidates:
        if candidate in lowered:
            return lowered[candidate]
    return None


def detect_columns(
    features: datasets.Features | None, columns: list[str], image_column: str | None, label_column: str | None
) -> tuple[str, str | None]:
    """Find the image and label columns: given names first, then feature types, then usual names."""
    if image_column is None and features is not None:
        image_column = next((name for name, f in features.items() if isinstance(f, datasets.Image)), None)
    image = _pick_column(columns, image_column, IMAGE_COLUMN_CANDIDATES, "image")
    if image is None:
        raise ValueError(
            f"no image column found among {columns}; expected one of {list(IMAGE_COLUMN_CANDIDATES)} "
            "or an Image feature: pass image_column=... (--image_column)"
        )
    if label_column is None and features is not None:
        label_column = next((n for n, f in features.items() if isinstance(f, datasets.ClassLabel)), None)
    label = _pick_column(columns, label_column, LABEL_COLUMN_CANDIDATES, "label")
    return image, label


def read_class_names_file(folder: str | None) -> list[str] | None:
    """Class names from ``classes.txt`` in a local data folder, one a line, or None."""
    if folder is None:
        return None
    path = Path(folder) / CLASS_NAMES_FILE
    if not path.is_file():
        return None
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return names or None


def detect_classes(
    features: datasets.Features | None,
    label_column: str | None,
    *,
    dataset_name: str | None,
    local_folder: str | None,
    num_classes: int | None,
) -> tuple[int, list[str] | None]:
    """Class count and names: the ClassLabel feature, then a given count, classes.txt, known ids."""
    if label_column is None:
        return 0, None
    feature = features.get(label_column) if features is not None else None
    if isinstance(feature, datasets.ClassLabel):
        names = list(feature.names)
        if num_classes is not None and num_classes != len(names):
            raise ValueError(f"num_classes={num_classes} but the label feature has {len(names)} classes")
        return len(names), names
    if num_classes is not None:
        return num_classes, None
    names = read_class_names_file(local_folder)
    if names is not None:
        return len(names), names
    if dataset_name in KNOWN_NUM_CLASSES:
        return KNOWN_NUM_CLASSES[dataset_name], None
    raise ValueError(
        f"the label column {label_column!r} is a plain integer, so the number of classes is unknown: "
        f"pass num_classes=... (--num_classes) or add a {CLASS_NAMES_FILE} file (one class name a line) "
        "to the data folder"
    )


def open_image_stream(
    *,
    dataset_name: str | None,
    train_data_dir: str | None,
    split: str,
    cache_dir: str | None,
    image_column: str | None,
    label_column: str | None,
    num_classes: int | None = None,
) -> ImageStream:
    """Open a stream and resolve its columns and classes; images are left undecoded.

    Labels of parquet data are checked against the class count here, from the shards' column
    statistics, so a bad label stops the run before its first step rather than when it is reached.
    """
    dataset, local_folder, builder = load_streaming_dataset(
        dataset_name=dataset_name, train_data_dir=train_data_dir, split=split, cache_dir=cache_dir
    )
    features = dataset.features
    columns = list(features) if features is not None else list(dataset.column_names or [])
    if not columns:  # features unknown until read: peek at one example
        columns = list(next(iter(dataset.decode(False))).keys())
    image, label = detect_columns(features, columns, image_column, label_column)
    count, names = detect_classes(
        features, label, dataset_name=dataset_name, local_folder=local_folder, num_classes=num_classes
    )
    if label is not None and builder.name == "parquet":
        check_parquet_label_ranges(
            split_data_files(builder, split), label, count,
            download_config=datasets.DownloadConfig(token=builder.token, storage_options=builder.storage_options),
        )
    # Webdataset keys name the sample (and __url__ its shard) in error messages and skip reports.
    provenance = [c for c in PROVENANCE_COLUMNS if c in columns]
    dataset = dataset.select_columns([c for c in (image, label) if c is not None] + provenance).decode(False)
    return ImageStream(dataset, image, label, count, names)

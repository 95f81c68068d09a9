"""Labels checked against the class count before training starts, and label errors that name the example.

Parquet shards carry each column's min and max per row group in their footer: reading footers
only (a few KB per shard, in parallel for Hub shards) tells whether any label lies outside
``[0, num_classes)`` without reading the data. Formats without statistics (webdataset's ``.cls``)
are checked example by example as they are read (`label_of`), and the error names the example.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow.parquet as pq
from datasets import DownloadConfig
from datasets.utils.file_utils import xopen

logger = logging.getLogger(__name__)

# Footers of Hub shards are read this many at a time (each read is one or two HTTP range requests).
FOOTER_READERS = 16
UNLABELLED_HINT = "is this an unlabelled split (ImageNet's test split is labelled -1), or is num_classes too small?"


def parquet_label_range(path: str, label_column: str, download_config: DownloadConfig | None) -> tuple | None:
    """(min, max, missing) of `label_column` in a parquet file, from its footer; None if unknown."""
    with xopen(path, "rb", download_config=download_config) as file:
        metadata = pq.ParquetFile(file).metadata
    low = high = None
    missing = 0
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        chunk = next(
            (row_group.column(i) for i in range(row_group.num_columns)
             if row_group.column(i).path_in_schema == label_column),
            None,
        )
        statistics = None if chunk is None else chunk.statistics
        if row_group.num_rows == 0 or statistics is None:
            if row_group.num_rows:
                return None  # a group without statistics: the range of the file is unknown
            continue
        missing += statistics.null_count or 0
        if statistics.has_min_max:
            low = statistics.min if low is None else min(low, statistics.min)
            high = statistics.max if high is None else max(high, statistics.max)
    return None if low is None and not missing else (low, high, missing)


def check_parquet_label_ranges(
    files: list[str], label_column: str, num_classes: int, *, download_config: DownloadConfig | None = None
) -> None:
    """Raise a ValueError naming the first shard whose labels leave ``[0, num_classes)``.

    Shards whose footer has no statistics (or cannot be read) are left to the check per example.
    """
    if not files or num_classes <= 0:
        return

    def label_range(path: str):
        try:
            return parquet_label_range(path, label_column, download_config)
        except Exception as error:  # unreadable footers are reported when the shard is read
            logger.debug("no label statistics for %s: %s", path, error)
            return None

    with ThreadPoolExecutor(max_workers=min(FOOTER_READERS, len(files))) as pool:
        ranges = list(pool.map(label_range, files))
    for path, found in zip(files, ranges):
        if found is None:
            continue
        low, high, missing = found
        if missing:
            raise ValueError(f"{missing} label(s) missing in column {label_column!r} of {path}: {UNLABELLED_HINT}")
        if not (0 <= low and high < num_classes):
            raise ValueError(
                f"labels in column {label_column!r} of {path} range from {low} to {high}, outside "
                f"[0, {num_classes}): {UNLABELLED_HINT}"
            )


def describe_example(example: dict[str, Any], image_column: str, position: int) -> str:
    """Where an example comes from, for messages: its file name, webdataset key and shard, or position."""
    parts = []
    image = example.get(image_column)
    if isinstance(image, dict) and image.get("path"):
        parts.append(f"image {image['path']}")
    if example.get("__key__"):
        parts.append(f"sample {example['__key__']}")
    if example.get("__url__"):
        parts.append(f"in {example['__url__']}")
    parts.append(f"example {position} of this reader's pass")
    return ", ".join(parts)


def label_of(example: dict[str, Any], label_column: str, num_classes: int, where) -> int:
    """The example's label as an int in ``[0, num_classes)``; a ValueError naming the example otherwise.

    `where` is called only on error and returns the example's description (`describe_example`).
    """
    value = example[label_column]
    try:
        label = int(value)
    except (TypeError, ValueError):
        label = None
    if label is None or not 0 <= label < num_classes:
        # An embedding lookup would fail far from here, or silently on some devices.
        raise ValueError(
            f"label {value!r} in column {label_column!r} ({where()}) is outside [0, {num_classes}): {UNLABELLED_HINT}"
        )
    return label

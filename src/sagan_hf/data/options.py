"""Where training images come from and how they are read: one dataclass for every caller.

Training (`TrainConfig`), reference statistics and the demo all describe their data with these
fields; `ImageBatchStream` reads them. Each field is also a flag of the `sagan-hf` commands.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..options import check_options, option
from .decode import RESAMPLING_FILTERS

SHAPES_DATASET_NAME = "shapes"


@dataclass
class DataOptions:
    """Where the images come from and how they are read."""

    dataset_name: str | None = option(
        None, "Hub dataset id (e.g. ILSVRC/imagenet-1k), or 'shapes', the built-in set used when no "
        "train_data_dir is given", group="data")
    train_data_dir: str | None = option(
        None, "local folder of parquet shards, webdataset .tar shards or images in class subfolders", group="data",
        path="existing_dir")
    dataset_split: str = option("train", "split to read", group="data", aliases=("--split",))
    image_column: str | None = option(None, "image column (detected when not given)", group="data")
    label_column: str | None = option(None, "label column (detected when not given)", group="data")
    num_classes: int | None = option(
        None, "class count when labels are plain integers without a ClassLabel feature", check="positive_or_none",
        group="data")
    cache_dir: str | None = option(None, "datasets cache folder", group="data", path="output_dir")
    shuffle_buffer_size: int = option(
        1000, "examples in the shuffle buffer (0: no shuffle)", check="non_negative", group="data")
    dataloader_num_workers: int = option(
        0, "decode workers per process", check="non_negative", group="data", aliases=("--num_workers",))
    resample: str = option("bicubic", "resize filter", choices=tuple(sorted(RESAMPLING_FILTERS)), group="data")
    min_image_side: int | None = option(
        None, "skip images whose shorter side is below this many pixels (default: keep them, upscaled and counted)",
        check="positive_or_none", group="data")

    def __post_init__(self):
        if self.dataset_name is not None and self.train_data_dir is not None:
            raise ValueError("give either dataset_name or train_data_dir, not both")
        if self.dataset_name is None and self.train_data_dir is None:
            self.dataset_name = SHAPES_DATASET_NAME
        check_options(self)

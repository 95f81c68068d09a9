"""The part of the training stream that runs inside each DataLoader worker: decode and batch.

Batches are made in the worker (the DataLoader gets ``batch_size=None``) so that a skipped image
never shortens a batch, and so that each batch can carry its worker's stream position: the main
process keeps the latest position of every worker, which is what a checkpoint stores.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass
from typing import Any, Iterator

import datasets
import numpy as np
import torch

from .decode import ImageDecodeError, ImageTooSmallError, decode
from .label_check import describe_example, label_of

logger = logging.getLogger(__name__)


@dataclass
class ImageCounts:
    """What happened to the images read so far (by one worker, or summed over a rank's workers)."""

    undecodable: int = 0  # skipped: not an image, truncated, no bytes
    too_small: int = 0  # skipped: shorter side below min_image_side
    upscaled: int = 0  # kept, but the shorter side was below the training resolution

    @property
    def skipped(self) -> int:
        return self.undecodable + self.too_small

    def __add__(self, other: "ImageCounts") -> "ImageCounts":
        return ImageCounts(**{k: v + getattr(other, k) for k, v in asdict(self).items()})


class DecodedBatches(torch.utils.data.IterableDataset):
    """One pass over a (rank-sharded) stream as uint8 image batches plus bookkeeping.

    Yields ``(images_uint8 [B, 3, R, R], labels int64 [B], info)`` where ``info`` holds the worker
    id, the worker's ``datasets`` state after this batch, its count of skipped images so far and
    its `ImageCounts` (as a dict). With ``drop_last`` the incomplete batch at the end of a worker's
    pass is dropped. A pass whose last images were skipped ends with an empty batch (``state`` None)
    that only carries the counts. An undecodable file is reported once, however many passes read it.
    """

    def __init__(
        self,
        dataset: datasets.IterableDataset,
        *,
        image_column: str,
        label_column: str | None,
        num_classes: int,
        resolution: int,
        batch_size: int,
        drop_last: bool,
        resample: str = "bicubic",
        min_image_side: int | None = None,
    ):
        self.dataset = dataset
        self.image_column = image_column
        self.label_column = label_column
        self.num_classes = num_classes
        self.resolution = resolution
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.resample = resample
        self.min_image_side = min_image_side
        self.resume_states: dict[int, dict] = {}
        # These live in the worker's copy and persist across its passes: reported through each batch's info.
        self.counts = ImageCounts()
        self._reported: set[str] = set()
        self._counts_sent = asdict(self.counts)

    @property
    def skipped_images(self) -> int:
        return self.counts.skipped

    def _worker_id(self) -> int:
        info = torch.utils.data.get_worker_info()
        return 0 if info is None else info.id

    def _pack(self, images: list[np.ndarray], labels: list[int], worker: int) -> tuple:
        pixels = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
        self._counts_sent = asdict(self.counts)
        info = {"worker": worker, "state": self.dataset.state_dict(), "skipped": self.counts.skipped,
                "counts": self._counts_sent}
        return pixels, torch.tensor(labels, dtype=torch.int64), info

    def _decode(self, example: dict[str, Any], position: int) -> np.ndarray | None:
        """The example's pixels, or None (counted, and reported the first time) when it is skipped."""
        try:
            decoded = decode(example[self.image_column], self.resolution, self.resample, self.min_image_side)
        except ImageTooSmallError:
            self.counts.too_small += 1
            return None
        except ImageDecodeError as error:
            self.counts.undecodable += 1
            if self._first_time(example):
                logger.warning(
                    "Skipped an image that could not be decoded (%s): %s. It is skipped on every pass and "
                    "reported only this once.", describe_example(example, self.image_column, position), error,
                )
            return None
        if decoded.source_side < self.resolution:
            if self.counts.upscaled == 0:
                logger.warning(
                    "An image with a shorter side of %d px (%s) is upscaled to %d px; such images are counted "
                    "(stream.image_counts.upscaled) and min_image_side=... (--min_image_side) skips them.",
                    decoded.source_side, describe_example(example, self.image_column, position), self.resolution,
                )
            self.counts.upscaled += 1
        return decoded.pixels

    def _first_time(self, example: dict[str, Any]) -> bool:
        """True the first time this worker meets this file (by path, webdataset key or content)."""
        image = example.get(self.image_column)
        if isinstance(image, dict) and image.get("path"):
            identity = f"path:{image['path']}"
        elif example.get("__key__"):
            identity = f"key:{example.get('__url__')}/{example['__key__']}"
        else:
            data = image.get("bytes") if isinstance(image, dict) else image
            identity = "sha1:" + hashlib.sha1(data if isinstance(data, bytes) else repr(data).encode()).hexdigest()
        if identity in self._reported:
            return False
        self._reported.add(identity)
        return True

    def _label(self, example: dict[str, Any], position: int) -> int:
        if self.label_column is None:
            return 0
        return label_of(
            example, self.label_column, self.num_classes,
            lambda: describe_example(example, self.image_column, position),
        )

    def __iter__(self) -> Iterator[tuple]:
        worker = self._worker_id()
        if worker in self.resume_states:
            # datasets applies it only while the epoch matches the saved one, i.e. once.
            self.dataset.load_state_dict(self.resume_states.pop(worker))
        images: list[np.ndarray] = []
        labels: list[int] = []
        for position, example in enumerate(self.dataset):
            label = self._label(example, position)  # checked even for skipped images: a bad split is bad
            pixels = self._decode(example, position)
            if pixels is None:
                continue
            images.append(pixels)
            labels.append(label)
            if len(images) == self.batch_size:
                yield self._pack(images, labels, worker)
                images, labels = [], []
        if images and not self.drop_last:
            yield self._pack(images, labels, worker)
        elif asdict(self.counts) != self._counts_sent:
            # Counts travel with batches; images skipped after the last batch get an empty one of their own.
            empty = torch.empty((0, 3, self.resolution, self.resolution), dtype=torch.uint8)
            yield empty, torch.empty(0, dtype=torch.int64), {"worker": worker, "counts": asdict(self.counts),
                                                             "skipped": self.counts.skipped, "state": None}

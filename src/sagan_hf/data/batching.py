"""The part of the training stream that runs inside each DataLoader worker: decode and batch.

Batches are made in the worker (the DataLoader gets ``batch_size=None``) so that a skipped image
never shortens a batch, and so that each batch can carry its worker's stream position: the main
process keeps the latest position of every worker, which is what a checkpoint stores.
"""

from __future__ import annotations

import logging
from typing import Any, Iterator

import datasets
import numpy as np
import torch

from .decode import ImageDecodeError, decode_image

logger = logging.getLogger(__name__)


class DecodedBatches(torch.utils.data.IterableDataset):
    """One pass over a (rank-sharded) stream as uint8 image batches plus bookkeeping.

    Yields ``(images_uint8 [B, 3, R, R], labels int64 [B], info)`` where ``info`` holds the worker
    id, the worker's ``datasets`` state after this batch and its count of skipped images so far.
    With ``drop_last`` the incomplete batch at the end of a worker's pass is dropped.
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
    ):
        self.dataset = dataset
        self.image_column = image_column
        self.label_column = label_column
        self.num_classes = num_classes
        self.resolution = resolution
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.resample = resample
        self.resume_states: dict[int, dict] = {}
        self.skipped_images = 0  # lives in the worker's copy: reported through each batch's info

    def _worker_id(self) -> int:
        info = torch.utils.data.get_worker_info()
        return 0 if info is None else info.id

    def _label_of(self, example: dict[str, Any]) -> int:
        if self.label_column is None:
            return 0
        value = example[self.label_column]
        label = int(value) if value is not None else -1
        if not 0 <= label < self.num_classes:
            # An embedding lookup would fail far from here, or silently on some devices.
            raise ValueError(
                f"label {value!r} in column {self.label_column!r} is outside [0, {self.num_classes}): "
                "is this an unlabelled split (e.g. ImageNet test, labelled -1), or is num_classes too small?"
            )
        return label

    def _pack(self, images: list[np.ndarray], labels: list[int], worker: int) -> tuple:
        pixels = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
        info = {"worker": worker, "state": self.dataset.state_dict(), "skipped": self.skipped_images}
        return pixels, torch.tensor(labels, dtype=torch.int64), info

    def __iter__(self) -> Iterator[tuple]:
        worker = self._worker_id()
        if worker in self.resume_states:
            # datasets applies it only while the epoch matches the saved one, i.e. once.
            self.dataset.load_state_dict(self.resume_states.pop(worker))
        images: list[np.ndarray] = []
        labels: list[int] = []
        for example in self.dataset:
            try:
                images.append(decode_image(example[self.image_column], self.resolution, self.resample))
            except ImageDecodeError as error:
                self.skipped_images += 1
                where = _describe(example[self.image_column])
                logger.warning("Skipped an image that could not be decoded%s: %s", where, error)
                continue
            labels.append(self._label_of(example))
            if len(images) == self.batch_size:
                yield self._pack(images, labels, worker)
                images, labels = [], []
        if images and not self.drop_last:
            yield self._pack(images, labels, worker)


def _describe(value: Any) -> str:
    if isinstance(value, dict) and value.get("path"):
        return f" ({value['path']})"
    return ""

"""The image batch stream: endless, seeded, rank-sharded, resumable batches of images and labels.

Pipeline: ``load_dataset(..., streaming=True)`` -> ``decode(False)`` -> seeded ``shuffle`` ->
``split_dataset_by_node(rank, world_size)`` -> decode and batch in DataLoader workers. The DataLoader
is a plain one and must NOT go through ``accelerator.prepare``: the data is already sharded per rank
here, and preparing it as well loses or double-shards examples.
"""

from __future__ import annotations

import atexit
import logging
import weakref
from typing import Iterator

import torch
from datasets.distributed import split_dataset_by_node

from .batching import DecodedBatches, ImageCounts
from .decode import to_model_range
from .options import SHAPES_DATASET_NAME, DataOptions
from .order import WorkerRoundRobin
from .sources import open_image_stream

logger = logging.getLogger(__name__)

STATE_VERSION = 1

# Stream iterators still open at interpreter exit would be finalised after their modules are torn
# down, printing spurious tracebacks from datasets' readers; close them while everything is alive.
_OPEN_PASSES: "weakref.WeakSet" = weakref.WeakSet()


@atexit.register
def _close_open_passes() -> None:
    for generator in list(_OPEN_PASSES):
        generator.close()


def _check_int(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


class ImageBatchStream:
    """Batches ``{"pixel_values": float32 [B, 3, R, R] in [-1, 1], "class_labels": int64 [B]}``.

    Args:
        options: where the data comes from (`DataOptions`: dataset id or local folder, split,
            columns, class count, shuffle buffer, decode workers, resize filter).
        resolution: side of the square images.
        batch_size: examples per batch on this rank.
        seed: shuffle seed; the same on every rank, or ranks would overlap.
        rank, world_size: this process's place among the data-parallel processes.

    ``iter(stream)`` never ends: it calls ``set_epoch`` at each pass and drops each worker's last
    incomplete batch of a pass. ``iter_one_pass()`` reads one pass and keeps the last smaller batch.
    ``state_dict()`` / ``load_state_dict()`` save and restore this rank's position (see docs/data.md
    for the shuffle-buffer caveat). Decode workers are capped at this rank's number of shards.
    """

    def __init__(
        self,
        options: DataOptions | None = None,
        *,
        resolution: int,
        batch_size: int,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ):
        options = options if options is not None else DataOptions()
        _check_int("resolution", resolution, 1)
        _check_int("batch_size", batch_size, 1)
        _check_int("seed", seed, 0)
        _check_int("world_size", world_size, 1)
        _check_int("rank", rank, 0)
        if rank >= world_size:
            raise ValueError(f"rank must be in [0, world_size={world_size}), got {rank}")
        dataset_name, train_data_dir = options.dataset_name, options.train_data_dir
        if dataset_name == SHAPES_DATASET_NAME:
            from .shapes.dataset import ensure_shapes_dataset

            # shapes is stored at 64 px; larger runs get a set drawn at their own size.
            train_data_dir = str(ensure_shapes_dataset(resolution=max(64, resolution), seed=0))
            dataset_name = None
        shuffle_buffer_size, num_workers = options.shuffle_buffer_size, options.dataloader_num_workers

        self.resolution = resolution
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle_buffer_size = shuffle_buffer_size
        self.rank = rank
        self.world_size = world_size
        self.resample = options.resample
        self.min_image_side = options.min_image_side

        source = open_image_stream(
            dataset_name=dataset_name,
            train_data_dir=train_data_dir,
            split=options.dataset_split,
            cache_dir=options.cache_dir,
            image_column=options.image_column,
            label_column=options.label_column,
            num_classes=options.num_classes,
        )
        self.image_column = source.image_column
        self.label_column = source.label_column
        self.num_classes = source.num_classes
        self.class_names = source.class_names

        dataset = source.dataset
        if shuffle_buffer_size > 0:
            # With DataLoader workers, resuming a buffer fed by several shards at once raises an
            # IndexError in datasets 5.2; feeding it one shard at a time avoids it.
            max_input_shards = 1 if num_workers > 0 else 10
            dataset = dataset.shuffle(
                seed=seed, buffer_size=shuffle_buffer_size, max_buffer_input_shards=max_input_shards
            )
        # Whole shards per rank whenever there are enough, even if they do not divide evenly (294
        # ImageNet parquet shards on 8 GPUs): splitting by example would make every rank download
        # the whole dataset. Uneven shards only mean uneven passes, harmless to a step-based loop.
        strategy = "shards" if dataset.num_shards >= world_size else "examples"
        self.dataset = split_dataset_by_node(dataset, rank=rank, world_size=world_size, strategy=strategy)
        shards = self._rank_num_shards(dataset.num_shards)
        self.num_workers = min(num_workers, shards)
        if self.num_workers < num_workers:
            logger.warning(
                "num_workers=%d lowered to %d: rank %d has only %d shard(s) to spread over workers",
                num_workers, self.num_workers, rank, shards,
            )

        self._epoch = 0
        self._worker_states: dict[int, dict] = {}
        self._next_worker = 0  # the DataLoader worker whose batch comes next
        self._skipped_at_start = 0
        self._skipped_seen: dict[tuple[bool, int], int] = {}
        self._counts_seen: dict[tuple[bool, int], dict] = {}
        self._loaders: dict[bool, torch.utils.data.DataLoader] = {}
        self._pending_resume: dict[int, dict] = {}

    def _rank_num_shards(self, total_shards: int) -> int:
        if total_shards >= self.world_size:  # "shards": every world_size-th shard from rank on
            return len(range(self.rank, total_shards, self.world_size))
        return total_shards  # "examples": all shards, one example in world_size kept

    @property
    def skipped_images(self) -> int:
        """Images skipped so far on this rank (undecodable, or below min_image_side); kept over a resume."""
        return self._skipped_at_start + sum(self._skipped_seen.values())

    @property
    def image_counts(self) -> ImageCounts:
        """Images skipped as undecodable or too small, and images upscaled, since this stream was opened."""
        return sum((ImageCounts(**counts) for counts in self._counts_seen.values()), ImageCounts())

    @property
    def epoch(self) -> int:
        """The pass over the data this stream is in (0-based)."""
        return self._epoch

    def _loader(self, drop_last: bool) -> torch.utils.data.DataLoader:
        if drop_last not in self._loaders:
            batches = DecodedBatches(
                self.dataset,
                image_column=self.image_column,
                label_column=self.label_column,
                num_classes=self.num_classes,
                resolution=self.resolution,
                batch_size=self.batch_size,
                drop_last=drop_last,
                resample=self.resample,
                min_image_side=self.min_image_side,
            )
            batches.resume_states = dict(self._pending_resume)
            self._loaders[drop_last] = torch.utils.data.DataLoader(
                batches,
                batch_size=None,
                num_workers=self.num_workers,
                pin_memory=torch.cuda.is_available(),
                persistent_workers=self.num_workers > 0,
                # Its own generator: starting the loader then leaves the global torch RNG untouched,
                # so a resumed run draws the same noise as an uninterrupted one.
                generator=torch.Generator().manual_seed(self.seed * 7919 + self.rank),
            )
        return self._loaders[drop_last]

    def _one_pass(self, drop_last: bool) -> Iterator[dict[str, torch.Tensor]]:
        self.dataset.set_epoch(self._epoch)
        loader = self._loader(drop_last)
        self._pending_resume = {}  # handed to the loader's workers; later passes start fresh
        order = WorkerRoundRobin(self.num_workers, first_worker=self._next_worker)
        for pixels, labels, info in loader:
            self._skipped_seen[(drop_last, info["worker"])] = info["skipped"]
            self._counts_seen[(drop_last, info["worker"])] = info["counts"]
            if info["state"] is None:  # an empty batch that only carries the counts of skipped images
                continue
            for item in order.push(info["worker"], (pixels, labels, info)):
                yield self._emit(*item)
        for item in order.finish():
            yield self._emit(*item)
        counts = self.image_counts
        if counts.skipped or counts.upscaled:
            logger.info("rank %d after pass %d: %s (since the stream was opened)", self.rank, self._epoch, counts)
        self._epoch += 1
        self._worker_states = {}
        self._next_worker = 0

    def _emit(self, pixels: torch.Tensor, labels: torch.Tensor, info: dict) -> dict[str, torch.Tensor]:
        # The position is that of the batches handed out, not of those still held for reordering.
        self._worker_states[info["worker"]] = info["state"]
        self._next_worker = (info["worker"] + 1) % max(1, self.num_workers)
        return {"pixel_values": to_model_range(pixels), "class_labels": labels}

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        """Endless batches; each pass over the data is a new epoch with its own shuffle."""
        return self._track(self._endless())

    def iter_one_pass(self) -> Iterator[dict[str, torch.Tensor]]:
        """One pass over this rank's shard; the last batch may be smaller than ``batch_size``."""
        return self._track(self._one_pass(drop_last=False))

    @staticmethod
    def _track(generator):
        _OPEN_PASSES.add(generator)
        return generator

    def _endless(self) -> Iterator[dict[str, torch.Tensor]]:
        while True:
            # A pass resumed at its very end is legitimately empty; a pass from the start is not.
            from_start = not self._pending_resume
            produced = False
            for batch in self._one_pass(drop_last=True):
                produced = True
                yield batch
            if not produced and from_start:
                raise ValueError(
                    f"rank {self.rank} produced no full batch of {self.batch_size} in a whole pass: "
                    f"the data (per rank and worker) is smaller than batch_size ({self.image_counts})"
                )

    def close(self) -> None:
        """Stop the DataLoader workers (they are started again by the next iteration)."""
        self._loaders = {}

    def state_dict(self) -> dict:
        """This rank's stream position, JSON-serialisable; store one per rank."""
        return {
            "version": STATE_VERSION,
            "epoch": self._epoch,
            "num_workers": self.num_workers,
            "rank": self.rank,
            "world_size": self.world_size,
            "next_worker": self._next_worker,
            "worker_states": {str(worker): state for worker, state in self._worker_states.items()},
            "skipped_images": self.skipped_images,
        }

    def load_state_dict(self, state: dict) -> None:
        """Continue from a saved position (call before iterating)."""
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            raise ValueError(f"not an ImageBatchStream state of version {STATE_VERSION}: {state!r:.200}")
        if (state["rank"], state["world_size"]) != (self.rank, self.world_size):
            logger.warning(
                "Data state saved by rank %s of %s loaded on rank %d of %d: positions will not match",
                state["rank"], state["world_size"], self.rank, self.world_size,
            )
        self._loaders = {}  # workers already started would not see the new position
        self._epoch = int(state["epoch"])
        self._skipped_at_start = int(state.get("skipped_images", 0))
        self._skipped_seen = {}
        self._worker_states = {int(k): v for k, v in state["worker_states"].items()}
        if state["num_workers"] == self.num_workers:
            self._pending_resume = dict(self._worker_states)
            self._next_worker = int(state.get("next_worker", 0))
        else:
            logger.warning(
                "Data state saved with %s workers, now %d: epoch %d restarts from its beginning",
                state["num_workers"], self.num_workers, self._epoch,
            )
            self._pending_resume = {}
            self._worker_states = {}
            self._next_worker = 0

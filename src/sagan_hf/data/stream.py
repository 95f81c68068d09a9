"""The image batch stream: endless, seeded, rank-sharded, resumable batches of images and labels.

Pipeline: ``load_dataset(..., streaming=True)`` -> ``decode(False)`` -> seeded ``shuffle`` ->
``split_dataset_by_node(rank, world_size)`` -> decode and batch in DataLoader workers. The DataLoader
is a plain one and must NOT go through ``accelerator.prepare``: the data is already sharded per rank
here, and preparing it as well loses or double-shards examples.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import weakref
from dataclasses import replace
from typing import Iterator

import torch

from .batching import DecodedBatches, ImageCounts
from .decode import to_model_range
from .elastic import STATE_VERSION, ResumePlan, plan_resume, shares_of_state
from .options import SHAPES_DATASET_NAME, DataOptions
from .order import WorkerRoundRobin
from .share_reader import ShareReader
from .shares import DONE, Share, ShareBuilder, buffer_input_shards_for, share_num_shards
from .sources import open_image_stream
from .worker_signals import leave_stop_signals_to_the_trainer

logger = logging.getLogger(__name__)

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
    ``state_dict()`` saves this rank's position; ``resume_from_states(states)`` continues from every
    rank's saved positions, also with another number of processes (`data/elastic.py`; see
    docs/data.md for the shuffle-buffer caveat). Decode workers are capped at this rank's number of shards.
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

        self._builder = ShareBuilder(source.dataset, seed=seed, shuffle_buffer_size=shuffle_buffer_size)
        self._total_shards = source.dataset.num_shards
        self._requested_workers = num_workers
        shards = share_num_shards(self._total_shards, world_size, rank)
        self.num_workers = min(num_workers, shards)
        if self.num_workers < num_workers:
            logger.warning(
                "num_workers=%d lowered to %d: rank %d has only %d shard(s) to spread over workers",
                num_workers, self.num_workers, rank, shards,
            )
        self._buffer_input_shards = buffer_input_shards_for(self.num_workers)
        self.dataset = self._builder.build(world_size, rank, self._buffer_input_shards)

        # Shares of passes in another layout (or worker count) still to read after a resume: read
        # before this rank's own passes continue at `_next_epoch` (`data/elastic.py`).
        self._shares: list[Share] = []
        self._next_epoch = 0
        self._segment_size = 0  # how many of `_shares` the running share loader reads
        self._active_workers = self.num_workers
        self._share_loaders = itertools.count()
        self._epoch = 0
        self._worker_states: dict[int, dict] = {}
        self._next_worker = 0  # the DataLoader worker whose batch comes next
        self._skipped_at_start = 0
        self._skipped_seen: dict[tuple[bool, int], int] = {}
        self._counts_seen: dict[tuple[bool, int], dict] = {}
        self._loaders: dict[bool, torch.utils.data.DataLoader] = {}
        self._pending_resume: dict[int, dict] = {}

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
        return self._shares[0].epoch if self._shares else self._epoch

    def _make_loader(self, dataset, drop_last: bool, num_workers: int, persistent: bool):
        batches = DecodedBatches(
            dataset,
            image_column=self.image_column,
            label_column=self.label_column,
            num_classes=self.num_classes,
            resolution=self.resolution,
            batch_size=self.batch_size,
            drop_last=drop_last,
            resample=self.resample,
            min_image_side=self.min_image_side,
        )
        loader = torch.utils.data.DataLoader(
            batches,
            batch_size=None,
            num_workers=num_workers,
            pin_memory=torch.cuda.is_available(),
            persistent_workers=persistent and num_workers > 0,
            worker_init_fn=leave_stop_signals_to_the_trainer if num_workers > 0 else None,
            # Its own generator: starting the loader then leaves the global torch RNG untouched,
            # so a resumed run draws the same noise as an uninterrupted one.
            generator=torch.Generator().manual_seed(self.seed * 7919 + self.rank),
        )
        return loader, batches

    def _loader(self, drop_last: bool) -> torch.utils.data.DataLoader:
        if drop_last not in self._loaders:
            loader, batches = self._make_loader(self.dataset, drop_last, self.num_workers, persistent=True)
            batches.resume_states = dict(self._pending_resume)
            self._loaders[drop_last] = loader
        return self._loaders[drop_last]

    def _in_order(self, loader, num_workers: int, skip_key) -> Iterator[dict[str, torch.Tensor]]:
        """The loader's batches in the round-robin order of an uninterrupted run (`order.py`)."""
        self._active_workers = num_workers
        order = WorkerRoundRobin(num_workers, first_worker=self._next_worker)
        for pixels, labels, info in loader:
            self._skipped_seen[(skip_key, info["worker"])] = info["skipped"]
            self._counts_seen[(skip_key, info["worker"])] = info["counts"]
            if info["state"] is None:  # an empty batch that only carries the counts of skipped images
                continue
            for item in order.push(info["worker"], (pixels, labels, info)):
                yield self._emit(*item)
        for item in order.finish():
            yield self._emit(*item)
        self._worker_states = {}
        self._next_worker = 0

    def _one_pass(self, drop_last: bool) -> Iterator[dict[str, torch.Tensor]]:
        self.dataset.set_epoch(self._epoch)
        loader = self._loader(drop_last)
        self._pending_resume = {}  # handed to the loader's workers; later passes start fresh
        yield from self._in_order(loader, self.num_workers, skip_key=drop_last)
        counts = self.image_counts
        if counts.skipped or counts.upscaled:
            logger.info("rank %d after pass %d: %s (since the stream was opened)", self.rank, self._epoch, counts)
        self._epoch += 1

    def _read_shares(self) -> Iterator[dict[str, torch.Tensor]]:
        """The shares left from a resume in another layout, in runs of equal worker count; then `_next_epoch`."""
        while self._shares:
            workers = self._shares[0].num_workers
            segment = []
            for share in self._shares:
                if share.num_workers != workers:
                    break
                segment.append(share)
            loader, _ = self._make_loader(ShareReader(self._builder, segment), True, workers, persistent=False)
            self._segment_size = len(segment)
            yield from self._in_order(loader, workers, skip_key=("shares", next(self._share_loaders)))
            self._shares, self._segment_size = self._shares[len(segment):], 0
        self._epoch = self._next_epoch

    def _emit(self, pixels: torch.Tensor, labels: torch.Tensor, info: dict) -> dict[str, torch.Tensor]:
        # The position is that of the batches handed out, not of those still held for reordering.
        self._worker_states[info["worker"]] = info["state"]
        self._next_worker = (info["worker"] + 1) % max(1, self._active_workers)
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
            if self._shares:
                yield from self._read_shares()
                continue
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
        """This rank's stream position, JSON-serialisable; store one per rank (`resume_from_states` needs all)."""
        if self._shares:
            shares, next_epoch = self._shares_with_progress(), self._next_epoch
        else:
            own = Share(
                epoch=self._epoch, world_size=self.world_size, rank=self.rank, num_workers=self.num_workers,
                buffer_input_shards=self._buffer_input_shards,
                workers={worker: {"state": state, "read": 0} for worker, state in self._worker_states.items()},
            )
            shares, next_epoch = [own], self._epoch + 1
        return {
            "version": STATE_VERSION,
            "rank": self.rank,
            "world_size": self.world_size,
            "num_workers": self.num_workers,
            "seed": self.seed,
            "shuffle_buffer_size": self.shuffle_buffer_size,
            "shares": [share.to_dict() for share in shares],
            "next_epoch": next_epoch,
            "next_worker": self._next_worker,
            "skipped_images": self.skipped_images,
        }

    def _shares_with_progress(self) -> list[Share]:
        """`_shares` with the positions the share loader's workers reported for the batches handed out."""
        shares = []
        for index, share in enumerate(self._shares):
            workers = dict(share.workers)
            for worker, position in self._worker_states.items() if index < self._segment_size else ():
                if position["share"] > index:
                    workers[worker] = DONE
                elif position["share"] == index:
                    workers[worker] = {"state": position["state"], "read": position["read"]}
            shares.append(replace(share, workers=workers))
        return shares

    def load_state_dict(self, state: dict) -> None:
        """Continue from this rank's own saved position (same rank and number of processes; call before iterating).

        After a change of the number of processes use `resume_from_states` with every rank's state.
        """
        if (state.get("rank"), state.get("world_size")) != (self.rank, self.world_size):
            raise ValueError(
                f"a data state of rank {state.get('rank')} of {state.get('world_size')} cannot be loaded by rank "
                f"{self.rank} of {self.world_size}: pass every rank's state to resume_from_states()"
            )
        states = [state if rank == self.rank else None for rank in range(self.world_size)]
        self._apply(plan_resume(states, self.world_size, self.rank, self._fresh_share))

    def resume_from_states(self, states: list[dict]) -> None:
        """Continue from the positions every rank saved (in rank order), with this or another number of processes."""
        settings = [(s.get("seed", self.seed), s.get("shuffle_buffer_size", self.shuffle_buffer_size)) for s in states]
        if any(setting != (self.seed, self.shuffle_buffer_size) for setting in settings):
            next_epoch = max(shares_of_state(state)[1] for state in states)
            logger.warning(
                "the data was saved with another seed or shuffle_buffer_size (%s), now (%d, %d): the saved position "
                "does not apply to this order; pass %d starts from its beginning",
                sorted(set(settings)), self.seed, self.shuffle_buffer_size, next_epoch,
            )
            skipped = sum(int(state.get("skipped_images", 0)) for state in states) if self.rank == 0 else 0
            self._apply(ResumePlan(shares=[], next_epoch=next_epoch, skipped_images=skipped))
            return
        self._apply(plan_resume(states, self.world_size, self.rank, self._fresh_share))

    def _fresh_share(self, epoch: int, world_size: int, rank: int) -> Share:
        workers = min(self._requested_workers, share_num_shards(self._total_shards, world_size, rank))
        return Share(epoch, world_size, rank, workers, buffer_input_shards_for(workers))

    def _is_own(self, share: Share) -> bool:
        return (share.world_size, share.rank, share.num_workers, share.buffer_input_shards, share.stride) == (
            self.world_size, self.rank, self.num_workers, self._buffer_input_shards, 1)

    def _apply(self, plan: ResumePlan) -> None:
        self._loaders = {}  # workers already started would not see the new position
        self._skipped_at_start, self._skipped_seen = plan.skipped_images, {}
        self._worker_states, self._pending_resume, self._shares = {}, {}, []
        self._next_worker = plan.next_worker
        shares = plan.shares
        if len(shares) == 1 and self._is_own(shares[0]) and plan.next_epoch == shares[0].epoch + 1:
            # This rank's own pass, as it left it: the persistent loader takes the workers' positions.
            self._epoch = shares[0].epoch
            self._worker_states = {w: p["state"] for w, p in shares[0].workers.items() if p.get("state") is not None}
            self._pending_resume = dict(self._worker_states)
        elif shares:
            if plan.summary is None:
                logger.info(
                    "finishing pass %d with the %d DataLoader worker(s) it began with (now %d)",
                    shares[0].epoch, shares[0].num_workers, self.num_workers,
                )
            self._shares, self._next_epoch = shares, plan.next_epoch
        else:
            self._epoch = plan.next_epoch
            self._next_worker = 0
        if plan.summary is not None:
            (logger.warning if self.rank == 0 else logger.info)("%s", plan.summary)

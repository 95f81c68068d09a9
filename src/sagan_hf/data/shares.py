"""A rank's share of one pass over the data, and the position reached in it: the unit of a resume.

The stream of rank r of W reads, in pass e, the examples that `split_dataset_by_node(shuffle(seed),
r, W)` gives with `set_epoch(e)`, split over its DataLoader workers by `datasets`. That share is fully
determined by (e, W, r, workers, how the shuffle buffer is fed), so it can be rebuilt by any process
and resumed from its `datasets` state, even by a run with another number of processes. This is how
an elastic resume finishes the old ranks' shares without reading any example twice
(`data/elastic.py`). A share that several processes read together (more processes than unfinished
shares) is read in full by each of them, each keeping every `stride`-th example from `offset` on.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import datasets
from datasets.distributed import split_dataset_by_node


def buffer_input_shards_for(num_workers: int) -> int:
    # With DataLoader workers, resuming a buffer fed by several shards at once raises an IndexError
    # in datasets 5.2; feeding it one shard at a time avoids it.
    return 1 if num_workers > 0 else 10


def share_num_shards(total_shards: int, world_size: int, rank: int) -> int:
    """Shards in the share of `rank` (all of them when there are fewer shards than processes)."""
    if total_shards >= world_size:  # "shards": every world_size-th shard from rank on
        return len(range(rank, total_shards, world_size))
    return total_shards  # "examples": all shards, one example in world_size kept


@dataclass(frozen=True)
class ShareBuilder:
    """Builds the `datasets` stream of any share of the (decode-less) source dataset."""

    source: datasets.IterableDataset
    seed: int
    shuffle_buffer_size: int

    def build(self, world_size: int, rank: int, buffer_input_shards: int) -> datasets.IterableDataset:
        dataset = self.source
        if self.shuffle_buffer_size > 0:
            dataset = dataset.shuffle(
                seed=self.seed, buffer_size=self.shuffle_buffer_size, max_buffer_input_shards=buffer_input_shards
            )
        # Whole shards per rank whenever there are enough, even if they do not divide evenly (294
        # ImageNet parquet shards on 8 GPUs): splitting by example would make every rank download
        # the whole dataset. Uneven shards only mean uneven passes, harmless to a step-based loop.
        strategy = "shards" if dataset.num_shards >= world_size else "examples"
        return split_dataset_by_node(dataset, rank=rank, world_size=world_size, strategy=strategy)


FRESH = {"state": None, "read": 0}  # a worker that has not started its part of a share
DONE = {"done": True}


@dataclass(frozen=True)
class Share:
    """Rank `rank`'s share of pass `epoch` in a layout of `world_size` processes, and how far it was read.

    `workers` maps each DataLoader worker (0 when there are none) to its progress: `FRESH`, `DONE`,
    or `{"state": <datasets state>, "read": n}`, which means "from that state, n examples were read"
    (n stays 0 for a share read by one process alone, whose state simply moves on).
    """

    epoch: int
    world_size: int
    rank: int
    num_workers: int
    buffer_input_shards: int
    stride: int = 1
    offset: int = 0
    workers: dict = field(default_factory=dict)

    def progress(self, worker: int) -> dict:
        return self.workers.get(worker, FRESH)

    @property
    def started(self) -> bool:
        return any(entry != FRESH for entry in self.workers.values())

    @property
    def done(self) -> bool:
        return all(self.progress(w).get("done") for w in range(max(1, self.num_workers)))

    def split(self, parts: int) -> list[Share]:
        """`parts` shares that together hold this one's unread examples, each read by one process."""
        return [
            replace(self, stride=self.stride * parts, offset=self.offset + self.stride * part) for part in range(parts)
        ]

    def describe(self) -> str:
        text = f"pass {self.epoch}, part {self.rank + 1} of {self.world_size}"
        return text if self.stride == 1 else f"{text}, one example in {self.stride} (offset {self.offset})"

    def to_dict(self) -> dict:
        return {
            "epoch": self.epoch, "world_size": self.world_size, "rank": self.rank, "num_workers": self.num_workers,
            "buffer_input_shards": self.buffer_input_shards, "stride": self.stride, "offset": self.offset,
            "workers": {str(worker): entry for worker, entry in self.workers.items()},
        }

    @classmethod
    def from_dict(cls, record: dict) -> Share:
        return cls(
            epoch=int(record["epoch"]), world_size=int(record["world_size"]), rank=int(record["rank"]),
            num_workers=int(record["num_workers"]), buffer_input_shards=int(record["buffer_input_shards"]),
            stride=int(record.get("stride", 1)), offset=int(record.get("offset", 0)),
            workers={int(worker): entry for worker, entry in record.get("workers", {}).items()},
        )

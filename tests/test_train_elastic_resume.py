"""Resuming the data stream with another number of processes: no example twice before the pass ends."""

from __future__ import annotations

import json
import logging
from collections import Counter

import pytest
from streams import open_stream
from test_data_shard_writers import ids_of, write_parquet_folder

from sagan_hf.data.elastic import plan_resume
from sagan_hf.data.shares import DONE, Share

NUM_IMAGES = 64


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_parquet_folder(tmp_path_factory.mktemp("pq"), num_images=NUM_IMAGES, num_shards=8)


def open_ranks(folder, world_size, **settings):
    options = dict(train_data_dir=str(folder), resolution=8, batch_size=2, shuffle_buffer_size=0, seed=4) | settings
    return [open_stream(rank=rank, world_size=world_size, **options) for rank in range(world_size)]


class Reader:
    """One rank's stream and its endless iterator; records the ids it hands out in pass `epoch`."""

    def __init__(self, stream):
        self.stream, self.iterator = stream, iter(stream)

    def take(self, count: int) -> list[int]:
        return [i for _ in range(count) for i in ids_of(next(self.iterator)["pixel_values"])]

    def rest_of_pass(self, epoch: int) -> list[int]:
        """The ids until the stream moves past `epoch` (the batch that shows it is the next pass's)."""
        seen = []
        while True:
            batch = next(self.iterator)
            if self.stream.epoch > epoch:
                return seen
            seen += ids_of(batch["pixel_values"])


def saved(readers) -> list[dict]:
    return [json.loads(json.dumps(reader.stream.state_dict())) for reader in readers]  # as the checkpoint files


def resumed(folder, world_size, states, **settings) -> list[Reader]:
    readers = []
    for stream in open_ranks(folder, world_size, **settings):
        stream.resume_from_states(states)
        readers.append(Reader(stream))
    return readers


def test_eight_to_four_and_four_to_eight_deal_out_every_unread_share_once():
    # The arithmetic alone: 8 old ranks, rank 5 already a pass ahead (uneven shards), rank 2 finished
    # by one of its two workers.
    def share(epoch, world, rank, **progress):
        return Share(epoch, world, rank, num_workers=2, buffer_input_shards=1, **progress)

    states = []
    for rank in range(8):
        own = share(3 if rank == 5 else 2, 8, rank, workers={0: {"state": {"at": rank}, "read": 0}})
        if rank == 2:
            own = share(2, 8, 2, workers={0: DONE, 1: {"state": {"at": 2}, "read": 0}})
        states.append({"version": 2, "rank": rank, "world_size": 8, "shares": [own.to_dict()],
                       "next_epoch": own.epoch + 1, "skipped_images": rank})

    def fresh(epoch, world, rank):
        return share(epoch, world, rank)

    plans = [plan_resume(states, 4, rank, fresh) for rank in range(4)]
    dealt = Counter((s.epoch, s.rank, s.stride) for plan in plans for s in plan.shares)
    # pass 2: all 8 old shares (rank 5's had been finished, and comes back as nothing: it is in pass 3);
    # pass 3: rank 5's own share, begun, and the 7 other ranks' shares of pass 3, not begun yet.
    expected = Counter([(2, r, 1) for r in range(8) if r != 5] + [(3, r, 1) for r in range(8)])
    assert dealt == expected
    assert [len(plan.shares) for plan in plans] == [4, 4, 4, 3]
    assert {plan.next_epoch for plan in plans} == {4}
    assert [plan.skipped_images for plan in plans] == [sum(range(8)), 0, 0, 0]
    started = {(s.epoch, s.rank): s.workers for plan in plans for s in plan.shares if s.started}
    assert started[(2, 2)] == {0: DONE, 1: {"state": {"at": 2}, "read": 0}}  # positions travel with the share
    assert "saved by 8 process(es) and is resumed by 4" in plans[0].summary

    # 4 -> 8: each unread share is split in two, each half read by one process keeping every 2nd example.
    four = [{"version": 2, "rank": r, "world_size": 4, "next_epoch": 1, "shares": [share(0, 4, r).to_dict()]}
            for r in range(4)]
    halves = [plan_resume(four, 8, rank, fresh).shares for rank in range(8)]
    assert all(len(h) == 1 for h in halves)
    assert sorted((h[0].rank, h[0].stride, h[0].offset) for h in halves) == [
        (r, 2, offset) for r in range(4) for offset in (0, 1)
    ]


def test_two_to_one_finishes_both_halves_of_the_pass_without_repeats(folder, caplog):
    old = [Reader(stream) for stream in open_ranks(folder, 2)]
    before = old[0].take(3) + old[1].take(5)
    with caplog.at_level(logging.WARNING):
        [new] = resumed(folder, 1, saved(old))
    after = new.rest_of_pass(0)
    assert Counter(before + after) == Counter(range(NUM_IMAGES))  # each example exactly once
    assert any("saved by 2 process(es) and is resumed by 1" in r.getMessage() for r in caplog.records)
    assert new.take(4)  # and the next pass runs in the new layout


def test_one_to_two_with_workers_splits_the_rest_of_the_pass_between_the_processes(folder):
    [old] = [Reader(stream) for stream in open_ranks(folder, 1, num_workers=2)]
    before = old.take(5)
    new = resumed(folder, 2, saved([old]), num_workers=2)
    after = [reader.rest_of_pass(0) for reader in new]
    assert after[0] and after[1] and not set(after[0]) & set(after[1])
    seen = Counter(before + after[0] + after[1])
    assert max(seen.values()) == 1
    # Each worker drops its last incomplete batch of a pass (the endless stream's batches are all full):
    # at most batch_size - 1 = 1 example for each of the 2 workers of the 2 processes.
    assert set(seen) <= set(range(NUM_IMAGES)) and NUM_IMAGES - len(seen) <= 2 * 2 * 1


def test_changing_twice_mid_pass_and_resuming_in_between_still_reads_each_example_once(folder):
    two = [Reader(stream) for stream in open_ranks(folder, 2)]
    seen = two[0].take(2) + two[1].take(4)
    three = resumed(folder, 3, saved(two))  # 2 unread shares over 3 processes: one is split in two
    seen += three[0].take(2) + three[1].take(1) + three[2].take(3)
    again = resumed(folder, 3, saved(three))  # the same layout: each takes its own position back
    seen += again[0].take(1) + again[2].take(1)
    [one] = resumed(folder, 1, saved(again))  # and down to one process, split shares included
    seen += one.rest_of_pass(0)
    assert Counter(seen) == Counter(range(NUM_IMAGES))


def test_with_the_default_shuffle_buffer_two_to_one_repeats_nothing_and_loses_at_most_the_buffers(folder):
    # With a buffer the position saved is the source's: what sat in each rank's buffer is not seen again
    # in this pass (as in any resume with a buffer), but nothing is read twice. Today's main crashed here.
    old = [Reader(stream) for stream in open_ranks(folder, 2, shuffle_buffer_size=6)]
    before = old[0].take(2) + old[1].take(3)
    [new] = resumed(folder, 1, saved(old), shuffle_buffer_size=6)
    after = new.rest_of_pass(0)
    seen = Counter(before + after)
    assert max(seen.values()) == 1
    assert NUM_IMAGES - len(seen) <= 2 * 6  # at most one buffer per old rank


def test_another_worker_count_finishes_the_pass_with_the_workers_it_began_with(folder):
    [old] = [Reader(stream) for stream in open_ranks(folder, 1, num_workers=2)]
    before = old.take(3)
    [new] = resumed(folder, 1, saved([old]), num_workers=0)  # used to restart the pass: 6 examples twice
    seen = Counter(before + new.rest_of_pass(0))
    assert max(seen.values()) == 1 and NUM_IMAGES - len(seen) <= 2 * 1  # the 2 workers' dropped tails
    assert new.stream.num_workers == 0 and new.take(2)  # the next pass with the new count

"""TrainDataStream over local parquet shards: batches, labels, skipped images, ranks, resume."""

from __future__ import annotations

import json

import pytest
import torch

from streams import open_stream
from test_data_shard_writers import ids_of, label_of, write_parquet_folder


@pytest.fixture(scope="module")
def parquet_dir(tmp_path_factory):
    return write_parquet_folder(tmp_path_factory.mktemp("pq"), num_images=60, num_shards=4, num_classes=3)


def stream(folder, **overrides):
    settings = dict(train_data_dir=str(folder), resolution=8, batch_size=8, shuffle_buffer_size=0)
    settings.update(overrides)
    return open_stream(**settings)


def test_parquet_batches_have_contract_shapes_ranges_and_labels(parquet_dir):
    data = stream(parquet_dir, shuffle_buffer_size=16, seed=3)
    assert data.num_classes == 3 and data.class_names == ["c0", "c1", "c2"]
    batches = list(data.iter_one_pass())
    assert [b["pixel_values"].shape[0] for b in batches] == [8] * 7 + [4]
    seen = []
    for batch in batches:
        pixels, labels = batch["pixel_values"], batch["class_labels"]
        assert pixels.dtype == torch.float32 and pixels.shape[1:] == (3, 8, 8)
        assert labels.dtype == torch.int64
        assert pixels.min() >= -1 and pixels.max() <= 1
        ids = ids_of(pixels)  # also checks the centre crop removed the white strips
        assert labels.tolist() == [label_of(i, 3) for i in ids]
        seen += ids
    assert sorted(seen) == list(range(60))
    assert seen != list(range(60)), "a shuffle buffer of 16 should change the order"
    assert data.skipped_images == 0


def test_corrupt_image_is_skipped_and_counted(tmp_path, caplog):
    folder = write_parquet_folder(tmp_path / "pq", num_images=20, num_shards=2, corrupt=(3, 14))
    data = stream(folder, batch_size=6)
    with caplog.at_level("WARNING"):
        seen = [i for batch in data.iter_one_pass() for i in ids_of(batch["pixel_values"])]
    assert sorted(seen) == [i for i in range(20) if i not in (3, 14)]
    assert data.skipped_images == 2
    assert data.state_dict()["skipped_images"] == 2
    assert "could not be decoded" in caplog.text


# 4 shards: two whole shards a rank; 3: uneven whole shards; 1: one example in two for each rank;
# 5 shards with 2 workers a rank: shards split over ranks, then over workers.
@pytest.mark.parametrize("num_shards, num_workers", [(4, 0), (3, 0), (1, 0), (5, 2)])
def test_two_ranks_see_disjoint_data_that_covers_the_set(tmp_path, num_shards, num_workers):
    folder = write_parquet_folder(tmp_path / "pq", num_images=42, num_shards=num_shards)
    per_rank = []
    for rank in range(2):
        data = stream(
            folder, rank=rank, world_size=2, shuffle_buffer_size=10, seed=5, num_workers=num_workers
        )
        per_rank.append([i for batch in data.iter_one_pass() for i in ids_of(batch["pixel_values"])])
    assert set(per_rank[0]).isdisjoint(per_rank[1])
    assert sorted(per_rank[0] + per_rank[1]) == list(range(42))
    assert min(len(ids) for ids in per_rank) > 0


def test_endless_iterator_starts_new_epochs_with_a_new_shuffle(parquet_dir):
    data = stream(parquet_dir, batch_size=10, shuffle_buffer_size=20, seed=1)
    iterator = iter(data)
    epochs = [[i for _ in range(6) for i in ids_of(next(iterator)["pixel_values"])] for _ in range(2)]
    assert data.epoch == 1  # the second pass ends only when a 13th batch is asked for
    assert sorted(epochs[0]) == sorted(epochs[1]) == list(range(60))
    assert epochs[0] != epochs[1]


def test_endless_iterator_drops_incomplete_batches(parquet_dir):
    iterator = iter(stream(parquet_dir, batch_size=25))
    sizes = [next(iterator)["pixel_values"].shape[0] for _ in range(5)]
    assert sizes == [25] * 5  # 60 images: 2 full batches a pass, 10 left over each pass


def take(iterator, count):
    return [next(iterator) for _ in range(count)]


@pytest.mark.parametrize("num_workers", [0, 2])
def test_resume_continues_with_the_same_next_batches(num_workers, tmp_path):
    # 3 shards over 2 workers: worker 0 runs out later than worker 1 in each pass.
    folder = write_parquet_folder(tmp_path / "pq", num_images=45, num_shards=3)
    reference = iter(stream(folder, batch_size=4, num_workers=num_workers))
    expected = [ids_of(b["pixel_values"]) for b in take(reference, 14)]
    for stop_after in (3, 8, 10):  # 10 batches is exactly one pass
        first = stream(folder, batch_size=4, num_workers=num_workers)
        iterator = iter(first)
        assert [ids_of(b["pixel_values"]) for b in take(iterator, stop_after)] == expected[:stop_after]
        state = json.loads(json.dumps(first.state_dict()))  # must survive a JSON file
        resumed = stream(folder, batch_size=4, num_workers=num_workers)
        resumed.load_state_dict(state)
        continued = [ids_of(b["pixel_values"]) for b in take(iter(resumed), 14 - stop_after)]
        assert continued == expected[stop_after:], f"resume after {stop_after} batches"


@pytest.fixture(scope="module")
def shuffled_resume(tmp_path_factory):
    """Stop a shuffled 2-worker stream after 4 batches, resume it; returns (seen, rest of the pass, stream)."""
    folder = write_parquet_folder(tmp_path_factory.mktemp("pq"), num_images=40, num_shards=4)
    first = stream(folder, batch_size=4, num_workers=2, shuffle_buffer_size=8)
    seen = [i for b in take(iter(first), 4) for i in ids_of(b["pixel_values"])]
    resumed = stream(folder, batch_size=4, num_workers=2, shuffle_buffer_size=8)
    resumed.load_state_dict(json.loads(json.dumps(first.state_dict())))
    rest = [i for b in resumed.iter_one_pass() for i in ids_of(b["pixel_values"])]
    return seen, rest, resumed


def test_resume_with_shuffle_buffer_and_workers_stays_within_the_documented_bound(shuffled_resume):
    # docs/data.md: the buffers' content is not saved, so up to one buffer per worker is lost, and
    # datasets 5.2 with workers repeats a few examples (measured at most 4 here); tested: one buffer.
    seen, rest, resumed = shuffled_resume
    assert resumed.epoch == 1  # the rest of the interrupted pass, then the pass ends
    assert len(rest) == len(set(rest)), "an example came twice after the resume"
    repeated = set(seen) & set(rest)
    lost = set(range(40)) - set(seen) - set(rest)
    assert len(repeated) <= 8, f"{len(repeated)} of the {len(seen)} examples seen came again: a restart?"
    assert len(lost) <= 2 * 8, f"{len(lost)} examples lost, more than one buffer per worker"


@pytest.mark.xfail(strict=True, reason="datasets 5.2 repeats a few examples when a shuffled stream read by "
                   "DataLoader workers resumes (issue 12, item 5: no example twice before the pass ends)")
def test_resume_with_shuffle_buffer_and_workers_repeats_nothing(shuffled_resume):
    seen, rest, _ = shuffled_resume
    assert not set(seen) & set(rest)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"resolution": 0}, "resolution"),
        ({"batch_size": -1}, "batch_size"),
        ({"rank": 2, "world_size": 2}, "rank"),
        ({"shuffle_buffer_size": -5}, "shuffle_buffer_size"),
        ({"dataset_name": "someone/data"}, "not both"),
        ({"image_column": "picture"}, "picture"),
        ({"resample": "nearest"}, "resample"),
    ],
)
def test_bad_arguments_raise_clear_errors(parquet_dir, overrides, message):
    with pytest.raises(ValueError, match=message):
        stream(parquet_dir, **overrides)


def test_missing_folder_and_empty_folder_raise(tmp_path):
    with pytest.raises(ValueError, match="not an existing folder"):
        stream(tmp_path / "absent")
    with pytest.raises(ValueError, match="no .parquet, .tar or image files"):
        stream(tmp_path)


def test_starting_the_stream_leaves_the_global_torch_rng_alone(parquet_dir):
    for num_workers in (0, 2):
        torch.manual_seed(123)
        expected = torch.rand(3)
        torch.manual_seed(123)
        next(iter(stream(parquet_dir, num_workers=num_workers)))
        assert torch.equal(torch.rand(3), expected)


def test_endless_iterator_refuses_data_smaller_than_a_batch(tmp_path):
    folder = write_parquet_folder(tmp_path / "pq", num_images=5, num_shards=1)
    with pytest.raises(ValueError, match="smaller than batch_size"):
        next(iter(stream(folder, batch_size=8)))
    assert len(list(stream(folder, batch_size=8).iter_one_pass())) == 1  # one pass keeps the 5

"""Streaming Hub dataset repos by id through datasets' own Hub client, against the loopback Hub.

The repos are laid out like the two ImageNet-1k forms of the mission: gated parquet shards with a
ClassLabel (ILSVRC/imagenet-1k) and webdataset tars of .jpg/.cls (timm/imagenet-1k-wds).
"""

from __future__ import annotations

import pytest
from hub_server import LoopbackHubServer

from streams import open_stream
from test_data_shard_writers import ids_of, imagenet_parquet_repo, label_of, timm_webdataset_repo

TOKEN = LoopbackHubServer.VALID_TOKEN


@pytest.fixture(scope="module")
def gated_parquet_repo(hub_server):
    repo_id = "loopback/imagenet-1k-parquet"
    hub_server.publish_dataset(repo_id, imagenet_parquet_repo(30, 3, num_classes=4), gated=True)
    return repo_id


def ids_and_labels(stream):
    pairs = []
    for batch in stream.iter_one_pass():
        pairs += zip(ids_of(batch["pixel_values"]), batch["class_labels"].tolist())
    return pairs


def test_a_gated_parquet_repo_streams_with_a_token_and_is_refused_clearly_without(
    hub_server, gated_parquet_repo, monkeypatch
):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(ValueError, match="gated dataset.*authenticated.*HF_TOKEN"):
        open_stream(dataset_name=gated_parquet_repo, resolution=8, batch_size=4)
    assert hub_server.dataset_reads(gated_parquet_repo) == []

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    stream = open_stream(dataset_name=gated_parquet_repo, resolution=8, batch_size=4, shuffle_buffer_size=0)
    assert (stream.image_column, stream.label_column) == ("image", "label")
    assert stream.num_classes == 4 and stream.class_names == ["c0", "c1", "c2", "c3"]
    assert ids_and_labels(stream) == [(i, label_of(i, 4)) for i in range(30)]
    reads = hub_server.dataset_reads(gated_parquet_repo)
    assert {f"data/train-0000{i}-of-00003.parquet" for i in range(3)} <= set(reads)


def test_two_ranks_share_a_hub_repo_without_overlap(hub_server, gated_parquet_repo, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    per_rank = [
        ids_and_labels(open_stream(dataset_name=gated_parquet_repo, resolution=8, batch_size=4, seed=3,
                                   shuffle_buffer_size=8, rank=rank, world_size=2))
        for rank in (0, 1)
    ]
    ids = [[i for i, _ in pairs] for pairs in per_rank]
    assert set(ids[0]).isdisjoint(ids[1]) and sorted(ids[0] + ids[1]) == list(range(30))


def test_a_timm_style_webdataset_repo_gets_its_known_class_count(hub_server):
    hub_server.publish_dataset("timm/imagenet-1k-wds", timm_webdataset_repo(12, 2, num_classes=5))
    stream = open_stream(dataset_name="timm/imagenet-1k-wds", resolution=8, batch_size=5, shuffle_buffer_size=0)
    assert (stream.image_column, stream.label_column) == ("jpg", "cls")
    assert stream.num_classes == 1000 and stream.class_names is None  # known id: plain-integer .cls labels
    batches = list(stream.iter_one_pass())
    labels = [label for batch in batches for label in batch["class_labels"].tolist()]
    assert labels == [label_of(i, 5) for i in range(12)]
    red = [float(((b["pixel_values"][k, 0].mean() + 1) * 127.5)) for b in batches for k in range(len(b["class_labels"]))]
    assert all(abs(r - i) <= 6 for i, r in enumerate(red)), red  # JPEG: ids only approximately
    assert set(hub_server.dataset_reads("timm/imagenet-1k-wds")) >= {"imagenet1k-train-0000.tar",
                                                                      "imagenet1k-train-0001.tar"}


def test_an_unknown_webdataset_repo_asks_for_its_class_count(hub_server):
    hub_server.publish_dataset("loopback/unknown-wds", timm_webdataset_repo(4, 1, num_classes=3))
    with pytest.raises(ValueError, match="num_classes"):
        open_stream(dataset_name="loopback/unknown-wds", resolution=8, batch_size=2)
    stream = open_stream(dataset_name="loopback/unknown-wds", resolution=8, batch_size=2, num_classes=3)
    assert sum(len(b["class_labels"]) for b in stream.iter_one_pass()) == 4


def test_an_unlabelled_split_is_refused_when_the_stream_opens(hub_server):
    # ImageNet's test split has the ClassLabel feature but every label is -1.
    files = imagenet_parquet_repo(10, 2, num_classes=4, split="test", label=lambda i, n: -1)
    hub_server.publish_dataset("loopback/imagenet-test-split", files)
    with pytest.raises(ValueError, match=r"data/test-00000-of-00002\.parquet range from -1 to -1, outside \[0, 4\)"):
        open_stream(dataset_name="loopback/imagenet-test-split", split="test", resolution=8, batch_size=2)


def test_a_missing_repo_is_one_clear_error(hub_server):
    with pytest.raises(ValueError, match="doesn't exist on the Hub or cannot be accessed"):
        open_stream(dataset_name="loopback/no-such-dataset", resolution=8, batch_size=2)

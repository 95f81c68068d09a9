"""Streaming Hub dataset repos by id through datasets' own Hub client, against the loopback Hub.

The repos are laid out like the two ImageNet-1k forms of the mission: gated parquet shards with a
ClassLabel (ILSVRC/imagenet-1k) and webdataset tars of .jpg/.cls (timm/imagenet-1k-wds).
"""

from __future__ import annotations

import json

import pytest
import torch
from hub_server import LoopbackHubServer

from streams import open_stream
from test_data_shard_writers import ids_of, imagenet_parquet_repo, label_of, timm_webdataset_repo
from test_train_step import one_torch_thread  # noqa: F401 (autouse fixture: tiny nets run best on one thread)

TOKEN = LoopbackHubServer.VALID_TOKEN


@pytest.fixture(scope="module")
def gated_parquet_repo(hub_server):
    repo_id = "loopback/imagenet-1k-parquet"
    hub_server.publish_dataset(repo_id, imagenet_parquet_repo(30, 3, num_classes=4), gated=True)
    return repo_id


def test_the_loopback_hub_gates_dataset_files_like_the_hub(hub_server, gated_parquet_repo, tmp_path):
    from huggingface_hub import HfApi, HfFileSystem, hf_hub_download
    from huggingface_hub.errors import GatedRepoError

    anonymous = HfApi(token=False)
    assert anonymous.dataset_info(gated_parquet_repo).gated == "manual"  # the card and file list are public
    files = anonymous.list_repo_files(gated_parquet_repo, repo_type="dataset")
    assert "README.md" in files and "data/train-00000-of-00003.parquet" in files
    with pytest.raises(GatedRepoError) as refused:
        hf_hub_download(gated_parquet_repo, "README.md", repo_type="dataset", token=False, cache_dir=tmp_path)
    assert refused.value.response.status_code == 401
    readme = hf_hub_download(gated_parquet_repo, "README.md", repo_type="dataset", token=TOKEN, cache_dir=tmp_path)
    assert b"class_label" in open(readme, "rb").read()
    # HfFileSystem reads parquet footers and row groups as byte ranges.
    expected = imagenet_parquet_repo(30, 3, num_classes=4)["data/train-00001-of-00003.parquet"]
    with HfFileSystem(token=TOKEN).open(f"datasets/{gated_parquet_repo}/data/train-00001-of-00003.parquet",
                                        "rb", block_size=64) as remote:
        remote.seek(100)
        assert remote.read(50) == expected[100:150]
        remote.seek(-8, 2)
        assert remote.read() == expected[-8:]


def ids_and_labels(stream):
    pairs = []
    for batch in stream.iter_one_pass():
        pairs += zip(ids_of(batch["pixel_values"]), batch["class_labels"].tolist())
    return pairs


def test_a_gated_parquet_repo_streams_with_a_token_and_is_refused_clearly_without(
    hub_server, gated_parquet_repo, monkeypatch
):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    served_before = len(hub_server.dataset_reads(gated_parquet_repo))
    with pytest.raises(ValueError, match="gated dataset.*authenticated.*HF_TOKEN"):
        open_stream(dataset_name=gated_parquet_repo, resolution=8, batch_size=4)
    assert hub_server.dataset_reads(gated_parquet_repo)[served_before:] == []  # not a byte without the token

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
    pixels = torch.cat([batch["pixel_values"] for batch in batches])
    red = ((pixels[:, 0].mean(dim=(1, 2)) + 1) * 127.5).tolist()
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


# -- training, reference statistics and resume over a Hub repo ---------------------------------------

@pytest.fixture(scope="module")
def training_repo(hub_server, tmp_path_factory):
    """A gated ILSVRC-style repo of 24 images of 48x32 (32 px after the centre crop), 4 classes; also
    its files in a local folder, the same bytes read the local way."""
    repo_id = "loopback/imagenet-1k-train-tiny"
    files = imagenet_parquet_repo(24, 2, num_classes=4, height=32)
    hub_server.publish_dataset(repo_id, files, gated=True)
    local = tmp_path_factory.mktemp("same_files")
    for path, data in files.items():
        if path.endswith(".parquet"):
            (local / path.split("/")[-1]).write_bytes(data)
    return repo_id, local


def checkpoint_tensors(run_dir, step: int) -> dict:
    import torch
    from safetensors.torch import load_file

    folder = run_dir / f"checkpoint-{step}"
    ema = torch.load(folder / "custom_checkpoint_0.pkl", weights_only=False)["model"]
    return ({f"G.{k}": v for k, v in load_file(folder / "model.safetensors").items()}
            | {f"D.{k}": v for k, v in load_file(folder / "model_1.safetensors").items()}
            | {f"EMA.{k}": v for k, v in ema.items()})


@pytest.mark.slow
def test_training_resume_and_reference_stats_stream_a_gated_hub_repo(
    hub_server, training_repo, tmp_path, monkeypatch
):
    import numpy as np

    from inception_weights import save_random_inception_weights
    from sagan_hf.cli import main as cli
    from sagan_hf.data import DataOptions
    from sagan_hf.evaluation import ReferenceStats, compute_reference_stats, load_inception_extractor
    from sagan_hf.evaluation import weights as weights_module
    from sagan_hf.evaluation.weights import sha256_of_file
    from sagan_hf.training.config import make_config
    from sagan_hf.training.trainer import train

    repo_id, local_copy = training_repo
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    common = dict(train_batch_size=4, shuffle_buffer_size=0, logging_steps=1, validation_steps=100,
                  checkpointing_steps=2, report_to="none")
    straight = tmp_path / "straight"
    train(make_config("shapes-tiny", dataset_name=repo_id, output_dir=str(straight), max_train_steps=4, **common))

    split = tmp_path / "split"
    flags = ["train", "--preset", "shapes-tiny", "--dataset_name", repo_id, "--output_dir", str(split)]
    flags += [item for name, value in common.items() for item in (f"--{name}", str(value))]
    assert cli.main(flags + ["--max_train_steps", "2"]) == 0
    reads_before_resume = len(hub_server.dataset_reads(repo_id))
    assert cli.main(flags + ["--max_train_steps", "4", "--resume_from_checkpoint", "latest"]) == 0
    assert len(hub_server.dataset_reads(repo_id)) > reads_before_resume  # the resumed run streamed again
    a, b = checkpoint_tensors(straight, 4), checkpoint_tensors(split, 4)
    assert a.keys() == b.keys()
    for name in a:  # D saw the same real batches after the resume: the Hub stream continued exactly
        assert torch.equal(a[name], b[name]), f"{name} differs after resume"
    record = json.loads((split / "train_config.json").read_text())
    assert record["num_classes"] == 4 and record["class_names"] == ["c0", "c1", "c2", "c3"]

    # Reference statistics by Hub id through the command line equal those of the same files on disk.
    weights = save_random_inception_weights(tmp_path / "inception.pth", seed=2)
    monkeypatch.setattr(weights_module, "WEIGHTS_SHA256", sha256_of_file(weights))
    output = tmp_path / "hub_ref.npz"
    assert cli.main(["reference-stats", "--dataset_name", repo_id, "--resolution", "32", "--max_images", "4",
                     "--batch_size", "2", "--output", str(output), "--inception_weights", str(weights),
                     "--device", "cpu", "--no_progress"]) == 0
    from_hub = ReferenceStats.load(output)
    local = compute_reference_stats(
        load_inception_extractor(weights, device="cpu"), resolution=32, batch_size=2, max_images=4,
        data=DataOptions(train_data_dir=str(local_copy), shuffle_buffer_size=0), progress=False,
    )
    assert from_hub.metadata["num_images"] == 4 and from_hub.metadata["dataset"] == repo_id
    np.testing.assert_allclose(from_hub.mu, local.mu, rtol=0, atol=1e-6)
    np.testing.assert_allclose(from_hub.sigma, local.sigma, rtol=0, atol=1e-6)

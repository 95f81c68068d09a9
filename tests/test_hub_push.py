"""Pushing a trained tiny pipeline to the loopback Hub and loading it back by repo id."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import RepositoryNotFoundError
from hub_fixtures import assert_same_images, files_containing, sample, tiny_pipeline, train_steps
from hub_server import LoopbackHubServer

from sagan_hf import SAGANPipeline
from sagan_hf.hub import HubTokenNotFoundError, push_pipeline_to_hub

TOKEN = LoopbackHubServer.VALID_TOKEN


@pytest.fixture(scope="module")
def trained_pipeline():
    pipeline = tiny_pipeline(seed=0)
    train_steps(pipeline, steps=1, seed=0)
    return pipeline


@pytest.fixture(scope="module")
def pushed(hub_server, trained_pipeline):
    """The trained pipeline pushed once to a public repo; returns (repo_id, commit)."""
    repo_id = "tester/sagan-push-roundtrip"
    commit = push_pipeline_to_hub(trained_pipeline, repo_id, token=TOKEN, commit_message="first push")
    return repo_id, commit


def test_push_uploads_safetensors_card_and_images_in_one_commit(hub_server, pushed):
    repo_id, commit = pushed
    info = HfApi().model_info(repo_id)
    files = {s.rfilename for s in info.siblings}
    assert info.sha == commit.oid
    assert str(commit).endswith(commit.oid)  # the commit URL
    assert {"model_index.json", "README.md", "samples.png", "generator/config.json",
            "discriminator/config.json"} <= files
    assert any(f.startswith("generator/") and f.endswith(".safetensors") for f in files)
    assert any(f.startswith("discriminator/") and f.endswith(".safetensors") for f in files)
    assert not [f for f in files if f.endswith((".bin", ".pkl", ".pt", ".pth", ".ckpt"))]
    assert info.library_name == "sagan-hf"
    # one commit on top of the repo's creation commit
    assert HfApi().model_info(repo_id, revision=commit.oid).sha == commit.oid


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("hub_cache")


def test_load_by_repo_id_gives_identical_images(pushed, trained_pipeline, cache_dir):
    repo_id, _ = pushed
    loaded = SAGANPipeline.from_pretrained(repo_id, cache_dir=cache_dir)
    assert not loaded.generator.training
    assert_same_images(sample(loaded), sample(trained_pipeline))
    for name, tensor in trained_pipeline.generator.state_dict().items():
        torch.testing.assert_close(loaded.generator.state_dict()[name], tensor, rtol=0, atol=0, msg=name)
    assert loaded.discriminator is not None


def test_offline_load_from_the_cache(pushed, trained_pipeline, cache_dir, tmp_path):
    repo_id, commit = pushed
    if not any(cache_dir.iterdir()):  # this test alone: fill the cache first
        SAGANPipeline.from_pretrained(repo_id, cache_dir=cache_dir)
    offline = SAGANPipeline.from_pretrained(repo_id, cache_dir=cache_dir, local_files_only=True)
    assert_same_images(sample(offline), sample(trained_pipeline))
    # the cache knows which commit "main" was when it was filled
    assert (cache_dir / "models--tester--sagan-push-roundtrip" / "refs" / "main").read_text() == commit.oid
    # nothing is cached there, and no network is allowed
    with pytest.raises(Exception, match="local_files_only|cached"):
        SAGANPipeline.from_pretrained(repo_id, cache_dir=tmp_path / "empty", local_files_only=True)


def test_second_push_updates_weights_and_card_and_keeps_history(hub_server, tmp_path):
    repo_id = "tester/sagan-push-twice"
    pipeline = tiny_pipeline(seed=1)
    train_steps(pipeline, steps=1, seed=1)
    # generator only: keeps the two loads below cheap (stale-file removal has its own test)
    first = push_pipeline_to_hub(pipeline, repo_id, token=TOKEN, include_discriminator=False)
    first_images = sample(pipeline)

    train_steps(pipeline, steps=1, seed=2)
    report = {"metrics": {"fid": 123.4, "is_mean": 2.5, "is_std": 0.1}, "num_samples": 1000,
              "inception_weights_sha256": "f" * 64, "resize_mode": "tf-bilinear", "reference": "test stats",
              "seed": 0, "truncation": None, "versions": {}}
    second = push_pipeline_to_hub(pipeline, repo_id, token=TOKEN, eval_report=report,
                                  include_discriminator=False, commit_message="after more training")
    assert second.oid != first.oid

    cache = tmp_path / "cache"
    latest = SAGANPipeline.from_pretrained(repo_id, cache_dir=cache)
    assert_same_images(sample(latest), sample(pipeline))
    assert np.abs(sample(latest) - first_images).max() > 1e-3  # the weights really changed
    old = SAGANPipeline.from_pretrained(repo_id, cache_dir=cache, revision=first.oid)
    assert_same_images(sample(old), first_images)

    old_card = Path(hf_hub_download(repo_id, "README.md", revision=first.oid, cache_dir=cache)).read_text()
    new_card = Path(hf_hub_download(repo_id, "README.md", cache_dir=cache)).read_text()
    assert "Not evaluated" in old_card and "Not evaluated" not in new_card
    assert "123.40" in new_card
    info = HfApi().model_info(repo_id)
    fid = [r for r in info.card_data.eval_results if r.metric_type == "fid"]
    assert [r.metric_value for r in fid] == [123.4]


def test_files_of_an_earlier_push_that_are_gone_now_are_deleted(hub_server):
    repo_id = "tester/sagan-push-stale"
    pipeline = tiny_pipeline(seed=6)
    with_d = push_pipeline_to_hub(pipeline, repo_id, token=TOKEN, include_images=False)
    without_d = push_pipeline_to_hub(pipeline, repo_id, token=TOKEN, include_images=False,
                                     include_discriminator=False)
    api = HfApi()

    def discriminator_files(revision):
        return [s.rfilename for s in api.model_info(repo_id, revision=revision).siblings
                if s.rfilename.startswith("discriminator/")]

    assert "discriminator/modeling_sagan.py" in discriminator_files(with_d.oid)
    assert discriminator_files(without_d.oid) == []  # weights, config and code of D are all gone
    index_path = hf_hub_download(repo_id, "model_index.json", revision=without_d.oid)
    model_index = json.loads(Path(index_path).read_text())
    assert model_index["discriminator"] == [None, None]


def test_token_comes_from_env_and_never_leaks(hub_server, monkeypatch, tmp_path, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    pipeline = tiny_pipeline(seed=3, with_discriminator=False)
    repo_id = "tester/sagan-push-env-token"
    commit = push_pipeline_to_hub(pipeline, repo_id, private=True,
                                  train_config={"hub_token": TOKEN, "dataset_name": "shapes"})
    loaded = SAGANPipeline.from_pretrained(repo_id, cache_dir=tmp_path / "cache")  # private: HF_TOKEN used
    assert_same_images(sample(loaded), sample(pipeline))

    captured = capsys.readouterr()
    assert TOKEN not in captured.out + captured.err
    assert TOKEN not in caplog.text
    folders = [tmp_path, hub_server.root, Path(os.environ["HF_HOME"])]
    assert files_containing(folders, TOKEN) == []
    card_path = hf_hub_download(repo_id, "README.md", revision=commit.oid, cache_dir=tmp_path / "c2")
    card = Path(card_path).read_text()
    assert "hub_token" not in card

    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(RepositoryNotFoundError):  # private repos stay hidden without the token
        SAGANPipeline.from_pretrained(repo_id, cache_dir=tmp_path / "anonymous")


def test_push_without_token_fails_clearly(hub_server, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(HubTokenNotFoundError, match="hf auth login") as error:
        push_pipeline_to_hub(tiny_pipeline(seed=4), "tester/sagan-no-token")
    assert "HF_TOKEN" in str(error.value)
    with pytest.raises(RepositoryNotFoundError):  # and nothing was created
        HfApi().model_info("tester/sagan-no-token")


def test_push_with_a_wrong_token_is_refused(hub_server):
    from huggingface_hub.errors import HfHubHTTPError

    with pytest.raises(HfHubHTTPError):
        push_pipeline_to_hub(tiny_pipeline(seed=5), "tester/sagan-wrong-token", token="hf_not_the_right_one",
                             include_images=False)


@pytest.mark.parametrize("bad", ["no-namespace", "a/b/c", "org/", "/name", "org/na me", "org/x--y"])
def test_bad_repo_ids_are_rejected_before_any_network_call(bad):
    with pytest.raises(ValueError, match="namespace/name"):
        push_pipeline_to_hub(object(), bad, token=TOKEN)

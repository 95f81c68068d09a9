"""Damaged pipeline folders: refused in one line that names the file, by the pipeline and by every command.

Real folders written by `save_pretrained`, then damaged as disks, copies and diverged runs damage them.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
import torch
from huggingface_hub import HfApi
from hub_fixtures import assert_same_images, sample, tiny_pipeline
from hub_server import LoopbackHubServer
from safetensors.torch import load_file, save_file

from sagan_hf import SAGANPipeline
from sagan_hf.cli.main import main as sagan_hf
from sagan_hf.hub import push_pipeline_to_hub
from sagan_hf.pipelines.pipeline_sagan import DamagedPipelineError

TOKEN = LoopbackHubServer.VALID_TOKEN
WEIGHTS = "diffusion_pytorch_model.safetensors"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny pipeline saved with its discriminator; returns (folder, pipeline)."""
    pipeline = tiny_pipeline(seed=3)
    folder = tmp_path_factory.mktemp("saved") / "pipe"
    pipeline.save_pretrained(folder)
    return folder, pipeline


@pytest.fixture
def copy(saved, tmp_path):
    """A fresh copy of the saved folder for one test to damage."""
    folder = tmp_path / "pipe"
    shutil.copytree(saved[0], folder)
    return folder


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])  # a copy cut off part way


def overwrite_header(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[9:40] = b"\xff" * 31  # bit rot in the JSON header
    path.write_bytes(bytes(data))


def append_bytes(path: Path) -> None:
    path.write_bytes(path.read_bytes() + b"\0" * 16)


def empty(path: Path) -> None:
    path.write_bytes(b"")


def poison(value: float):
    def damage(path: Path) -> None:
        tensors = load_file(path)
        name = max((name for name, t in tensors.items() if t.is_floating_point()), key=lambda n: tensors[n].numel())
        tensors[name].view(-1)[tensors[name].numel() // 2] = value  # one weight of the largest tensor
        save_file(tensors, path)

    damage.__name__ = f"poison_{value}"
    return damage


DAMAGES = [truncate, overwrite_header, append_bytes, empty, poison(float("nan")), poison(float("inf"))]
MESSAGES = ["truncated", "header is unreadable", "damaged", "truncated or not a safetensors file", "NaN or infinite",
            "NaN or infinite"]


def assert_one_line_naming(message: str, path: Path) -> None:
    assert "\n" not in message and str(path) in message, message


@pytest.mark.parametrize("component", ["generator", "discriminator"])
@pytest.mark.parametrize("damage, expected", list(zip(DAMAGES, MESSAGES)), ids=[d.__name__ for d in DAMAGES])
def test_a_damaged_weights_file_is_refused_by_name(copy, component, damage, expected):
    weights = copy / component / WEIGHTS
    damage(weights)
    with pytest.raises(DamagedPipelineError, match=expected) as caught:
        SAGANPipeline.from_pretrained(copy)
    assert_one_line_naming(str(caught.value), weights)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, OSError)


@pytest.mark.parametrize("missing", ["generator/" + WEIGHTS, "generator/config.json", "generator", "model_index.json"])
def test_a_missing_required_file_is_named_as_it_is(copy, missing):
    target = copy / missing
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    with pytest.raises(DamagedPipelineError) as caught:
        SAGANPipeline.from_pretrained(copy)
    message = str(caught.value)
    assert str(target if missing != "model_index.json" else copy) in message and ".bin" not in message, message


@pytest.mark.parametrize("missing", ["discriminator", "discriminator/" + WEIGHTS, "discriminator/config.json"])
def test_a_missing_optional_discriminator_loads_as_absent(saved, copy, missing, caplog):
    target = copy / missing
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    loaded = SAGANPipeline.from_pretrained(copy)
    assert loaded.discriminator is None
    assert f"{target} is missing: loading the pipeline without its discriminator" in caplog.text
    assert_same_images(sample(loaded), sample(saved[1]))  # the generator is the saved one


def test_a_generator_passed_in_is_not_checked_against_the_folder(saved, copy):
    poison(float("nan"))(copy / "generator" / WEIGHTS)
    loaded = SAGANPipeline.from_pretrained(copy, generator=saved[1].generator)
    assert loaded.generator is saved[1].generator and loaded.discriminator is not None


def _cli_error(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_sample_and_evaluate_refuse_a_damaged_pipeline_in_one_line(copy, tmp_path, capsys):
    weights = copy / "generator" / WEIGHTS
    poison(float("nan"))(weights)
    out = tmp_path / "samples"
    assert sagan_hf(["sample", "--pipeline", str(copy), "--output_dir", str(out), "--device", "cpu"]) == 2
    assert_one_line_naming(_cli_error(capsys), weights)
    assert not out.exists()  # no black images written

    truncate(weights)
    report = tmp_path / "report.json"
    assert sagan_hf(["evaluate", "--pipeline", str(copy), "--metrics", "is", "--output", str(report),
                     "--device", "cpu", "--no-download"]) == 2
    assert_one_line_naming(_cli_error(capsys), weights)
    assert not report.exists()


def test_push_refuses_a_damaged_folder_before_creating_the_repo(hub_server, copy, capsys):
    weights = copy / "discriminator" / WEIGHTS
    truncate(weights)
    repo_id = "tester/sagan-damaged-folder"
    assert sagan_hf(["push", "--pipeline", str(copy), "--repo_id", repo_id, "--token", TOKEN]) == 2
    assert_one_line_naming(_cli_error(capsys), weights)
    assert not HfApi(token=TOKEN).repo_exists(repo_id)


def test_push_refuses_non_finite_weights_in_memory(hub_server):
    pipeline = tiny_pipeline(seed=4)
    with torch.no_grad():
        pipeline.discriminator.blocks[0].conv1.parametrizations.weight.original[0, 0, 0, 0] = float("inf")
    repo_id = "tester/sagan-diverged"
    with pytest.raises(ValueError, match=r"discriminator's .*conv1.* NaN or infinite"):
        push_pipeline_to_hub(pipeline, repo_id, token=TOKEN, include_images=False)
    assert not HfApi(token=TOKEN).repo_exists(repo_id)
    # Without the discriminator nothing non-finite is uploaded, so the push goes through.
    push_pipeline_to_hub(pipeline, repo_id, token=TOKEN, include_images=False, include_discriminator=False)
    assert HfApi(token=TOKEN).repo_exists(repo_id)


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_saved_files_get_the_umask_permissions(saved, tmp_path, umask):
    previous = os.umask(umask)
    try:
        saved[1].save_pretrained(tmp_path / "out")
    finally:
        os.umask(previous)
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {WEIGHTS, "config.json", "model_index.json"}
    modes = {p.relative_to(tmp_path).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in files}
    assert set(modes.values()) == {0o666 & ~umask}, modes  # safetensors alone would give 0600
    assert json.loads((tmp_path / "out" / "model_index.json").read_text())["discriminator"][1] == "SAGANDiscriminator"

"""scripts/push_to_hub.py: a saved run folder -> a Hub repo that loads by repo id."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest
from huggingface_hub import HfApi, hf_hub_download
from hub_fixtures import assert_same_images, sample, tiny_pipeline
from hub_server import LoopbackHubServer

from sagan_hf import SAGANPipeline

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "push_to_hub.py"
TOKEN = LoopbackHubServer.VALID_TOKEN


@pytest.fixture(scope="module")
def script_main():
    return runpy.run_path(str(SCRIPT), run_name="push_to_hub")["main"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run folder as the trainer leaves it: the pipeline plus train_config.json."""
    folder = tmp_path_factory.mktemp("run")
    pipeline = tiny_pipeline(seed=11, with_discriminator=False)
    pipeline.save_pretrained(folder)
    (folder / "train_config.json").write_text(json.dumps({
        "dataset_name": "shapes", "train_batch_size": 32, "max_train_steps": 1300, "learning_rate_g": 1e-3,
        "learning_rate_d": 1e-3, "hub_token": TOKEN,
    }))
    return folder, pipeline


def test_script_pushes_a_run_folder(hub_server, script_main, run_dir, tmp_path, capsys):
    folder, pipeline = run_dir
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"metrics": {"fid": 250.0}, "num_samples": 500, "seed": 1}))
    code = script_main(["--pipeline", str(folder), "--repo_id", "tester/sagan-script", "--private",
                        "--eval_report", str(report), "--commit_message", "from the script",
                        "--token", TOKEN])
    assert code == 0
    out = capsys.readouterr()
    assert "tester/sagan-script" in out.out
    commit_id = HfApi(token=TOKEN).model_info("tester/sagan-script").sha
    assert f'DiffusionPipeline.from_pretrained("tester/sagan-script", trust_remote_code=True, revision="{commit_id}")' in (
        out.out)
    assert TOKEN not in out.out + out.err

    api = HfApi(token=TOKEN)
    assert api.model_info("tester/sagan-script").private is True
    card_path = hf_hub_download("tester/sagan-script", "README.md", token=TOKEN, cache_dir=tmp_path / "c")
    card = Path(card_path).read_text()
    assert "| Learning rate, generator | 0.001 |" in card  # from the run folder's train_config.json
    assert "| FID | 250.00 |" in card and TOKEN not in card
    loaded = SAGANPipeline.from_pretrained("tester/sagan-script", token=TOKEN, cache_dir=tmp_path / "c")
    assert_same_images(sample(loaded), sample(pipeline))


def test_script_without_token_explains_how_to_log_in(hub_server, script_main, run_dir, monkeypatch, capsys):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    folder, _ = run_dir
    assert script_main(["--pipeline", str(folder), "--repo_id", "tester/sagan-script-no-token"]) == 1
    err = capsys.readouterr().err
    assert "hf auth login" in err and "HF_TOKEN" in err


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


def test_script_rejects_a_folder_that_is_not_a_pipeline(script_main, tmp_path, capsys):
    assert script_main(["--pipeline", str(tmp_path), "--repo_id", "tester/x", "--token", TOKEN]) == 2
    assert "no model_index.json" in _one_line_error(capsys)


def test_script_reports_bad_inputs_before_loading_anything(script_main, run_dir, tmp_path, capsys):
    folder, _ = run_dir
    assert script_main(["--pipeline", str(folder), "--repo_id", "no-namespace", "--token", TOKEN]) == 2
    assert "Invalid repo id" in _one_line_error(capsys)
    assert script_main(["--pipeline", str(folder), "--repo_id", "tester/x", "--token", TOKEN,
                        "--eval_report", str(tmp_path / "missing.json")]) == 2
    assert "Evaluation report file not found" in _one_line_error(capsys)


def test_script_help_runs_as_a_program():
    import subprocess

    result = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and "--eval_report" in result.stdout and "--repo_id" in result.stdout

"""`sagan-hf demo` (what `make demo` runs): fixed steps, the package's CPU thread policy, progress with
an ETA, and a report by class name. The real demo's accuracy is measured in README.md, not here."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from sagan_hf.cpu_threads import THREADS_ENV, package_cpu_threads, package_cpu_threads_for_block
from sagan_hf.data.shapes import SHAPES_CLASSES
from sagan_hf.training.config import DEMO_STEPS, make_config


@pytest.fixture
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_the_thread_policy_is_one_thread_unless_the_environment_says_otherwise(monkeypatch, restore_threads):
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert package_cpu_threads() == 1
    monkeypatch.setenv(THREADS_ENV, "2")
    torch.set_num_threads(3)
    with package_cpu_threads_for_block() as count:
        assert count == torch.get_num_threads() == 2
    assert torch.get_num_threads() == 3
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(THREADS_ENV, bad)
        with pytest.raises(ValueError, match=rf"{THREADS_ENV} must be a positive integer \(CPU threads\), got '{bad}'"):
            package_cpu_threads()


def test_the_demo_preset_trains_a_fixed_number_of_steps_without_a_time_budget():
    config = make_config("shapes-demo")
    assert config.max_train_steps == DEMO_STEPS and config.max_train_seconds is None


def test_the_demo_trains_on_one_thread_shows_an_eta_and_reports_by_class_name(tmp_path, capsys, monkeypatch,
                                                                              restore_threads):
    from sagan_hf.cli.main import main

    monkeypatch.delenv(THREADS_ENV, raising=False)
    torch.set_num_threads(2)
    out_dir = tmp_path / "demo"
    assert main(["demo", "--output_dir", str(out_dir), "--steps", "4", "--samples_per_class", "4"]) == 0
    printed = capsys.readouterr().out
    assert "sagan-hf demo: 1 CPU thread(s)" in printed
    assert "step 4/4 (100%):" in printed and " s left" in printed
    report = json.loads((out_dir / "report" / "report.json").read_text())
    assert report["training"]["global_step"] == 4 and report["training"]["hardware"].endswith("1 threads)")
    assert list(report["class_accuracy_per_class"]) == list(SHAPES_CLASSES)
    for name in SHAPES_CLASSES:
        assert f"  {name:<9}" in printed

    named = np.asarray(Image.open(report["files"]["samples_by_class"]).convert("L"))
    assert named.shape[0] == 5 * 128  # one 128 px row (32 px samples, upscaled) per class
    margin = named.shape[1] - 8 * 128
    for row in range(5):  # each row's name is written in the white margin at its left
        label_area = named[row * 128:(row + 1) * 128, :margin]
        assert margin > 40 and (label_area < 100).sum() > 20, f"no label drawn for {SHAPES_CLASSES[row]}"


def test_a_bad_thread_setting_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    from sagan_hf.cli.main import main

    monkeypatch.setenv(THREADS_ENV, "all")
    assert main(["demo", "--output_dir", str(tmp_path / "demo"), "--steps", "1"]) == 2
    assert capsys.readouterr().err.strip() == f"error: {THREADS_ENV} must be a positive integer (CPU threads), got 'all'"
    assert not (tmp_path / "demo").exists()

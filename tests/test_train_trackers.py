"""--report_to: wandb (offline) logs what TensorBoard logs; a missing tracker package stops the run at start."""

import io
import sys

import numpy as np
import pytest
from PIL import Image

from sagan_hf.training.trainer import train
from test_train_step import one_torch_thread, tiny_config, write_training_shards  # noqa: F401 (fixture)
from wandb_records import wandb_history


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_training_shards(tmp_path_factory.mktemp("shards"))


def _tensorboard_logs(logs_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logged = EventAccumulator(str(next(logs_dir.rglob("events.out.tfevents.*")).parent), size_guidance={"images": 0})
    logged.Reload()
    scalars = {tag: {e.step: e.value for e in logged.Scalars(tag)} for tag in logged.Tags()["scalars"]}
    images = {tag: {e.step: e.encoded_image_string for e in logged.Images(tag)} for tag in logged.Tags()["images"]}
    return scalars, images


def _wandb_logs(logs_dir):
    (run_file,) = logs_dir.glob("wandb/offline-run-*/run-*.wandb")
    scalars, images = {}, {}
    for row in wandb_history(run_file):
        step = row["_step"]
        for key, value in row.items():
            if key.startswith("_") or "/_type" in key:
                continue
            if key.endswith("/filenames"):  # an image list: media files next to the run file
                images.setdefault(key.removesuffix("/filenames"), {})[step] = [run_file.parent / "files" / f for f in value]
            elif not any(key.endswith(suffix) for suffix in ("/count", "/width", "/height", "/format")):
                scalars.setdefault(key, {})[step] = value
    return scalars, images


def test_wandb_offline_logs_the_same_scalars_and_grids_as_tensorboard(tmp_path, data_dir, monkeypatch):
    pytest.importorskip("wandb", reason="the wandb extra is not installed (pip install 'sagan-hf[wandb]')")
    pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_CONSOLE", "off")
    out = tmp_path / "run"
    train(tiny_config(out, data_dir, report_to="tensorboard,wandb"))

    tb_scalars, tb_images = _tensorboard_logs(out / "logs")
    wb_scalars, wb_images = _wandb_logs(out / "logs")  # the wandb run lives under output_dir/logs too
    assert {"d_loss", "g_loss", "gamma/G_16", "lr/G", "images_per_second"} <= set(tb_scalars)
    assert set(wb_scalars) == set(tb_scalars)
    for tag, by_step in tb_scalars.items():
        assert sorted(wb_scalars[tag]) == sorted(by_step) == [1, 2, 3, 4], tag
        np.testing.assert_allclose([wb_scalars[tag][s] for s in by_step], list(by_step.values()), rtol=1e-6, err_msg=tag)

    assert set(wb_images) == set(tb_images) == {"validation/samples"}
    assert sorted(wb_images["validation/samples"]) == sorted(tb_images["validation/samples"]) == [2, 4]
    for step, encoded in tb_images["validation/samples"].items():
        on_disk = np.asarray(Image.open(out / "samples" / f"step_{step:08d}.png"))
        (wandb_file,) = wb_images["validation/samples"][step]
        np.testing.assert_array_equal(np.asarray(Image.open(wandb_file).convert("RGB")), on_disk)
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(encoded)).convert("RGB")), on_disk)


@pytest.mark.parametrize("tracker", ["wandb", "tensorboard"])
def test_a_missing_tracker_package_stops_the_run_before_training(tmp_path, data_dir, monkeypatch, tracker):
    monkeypatch.setitem(sys.modules, tracker, None)  # `import <tracker>` now raises ImportError
    out = tmp_path / "run"
    with pytest.raises(ValueError, match=rf"report_to={tracker} needs the {tracker} package.*pip install"):
        train(tiny_config(out, data_dir, report_to=tracker))
    assert not out.exists() or not any(out.iterdir()), "nothing may be written before the check"


def test_the_train_command_reports_a_missing_tracker_in_one_line(tmp_path, data_dir, monkeypatch, capsys):
    from sagan_hf.cli.main import main

    monkeypatch.setitem(sys.modules, "wandb", None)
    status = main(["train", "--preset", "shapes-tiny", "--train_data_dir", str(data_dir),
                   "--output_dir", str(tmp_path / "run"), "--report_to", "wandb"])
    error = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(error) == 1, error
    assert error[0].startswith("error: report_to=wandb needs the wandb package") and "sagan-hf[wandb]" in error[0]

"""Checkpoints that can be trusted: a manifest of every file, damaged files named, a full disk, file modes."""

import hashlib
import json
import logging
import os
import pickle
import shutil
import subprocess
import uuid

import pytest
from test_train_step import one_torch_thread, tiny_config, write_training_shards  # noqa: F401 (fixture)

from sagan_hf.cli.train import main as train_command
from sagan_hf.training.checkpoint_manifest import MANIFEST_NAME, verify_checkpoint
from sagan_hf.training.checkpointing import list_checkpoints
from sagan_hf.training.errors import DamagedCheckpointError
from sagan_hf.training.trainer import train


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_training_shards(tmp_path_factory.mktemp("shards"), num_images=32, num_shards=2)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, data_dir):
    """A 4-step run with checkpoints at 2 and 4, written under umask 022; tests work on copies of it."""
    out = tmp_path_factory.mktemp("run") / "run"
    previous = os.umask(0o022)
    try:
        train(tiny_config(out, data_dir, max_train_steps=4, validation_steps=100))
    finally:
        os.umask(previous)
    return out


@pytest.fixture
def run_copy(tmp_path, finished_run):
    copy = tmp_path / "run"
    shutil.copytree(finished_run, copy)
    return copy


def _flags(out, data_dir, steps, *extra):
    return ["--preset", "shapes-tiny", "--output_dir", str(out), "--train_data_dir", str(data_dir),
            "--train_batch_size", "4", "--shuffle_buffer_size", "0", "--max_train_steps", str(steps),
            "--report_to", "none", "--validation_steps", "1000", "--checkpointing_steps", "2", *extra]


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error")]  # leaves out the progress bar


def test_each_checkpoint_records_size_and_sha256_of_every_file_and_gets_the_umask_modes(finished_run):
    checkpoint = finished_run / "checkpoint-4"
    manifest = json.loads((checkpoint / MANIFEST_NAME).read_text())
    on_disk = sorted(p.name for p in checkpoint.iterdir() if p.name != MANIFEST_NAME)
    assert sorted(manifest["files"]) == on_disk and manifest["step"] == 4
    for name, entry in manifest["files"].items():
        data = (checkpoint / name).read_bytes()
        assert entry == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}, name
    assert verify_checkpoint(checkpoint)
    # safetensors alone writes 0600; everything the run publishes follows the umask (022 here).
    published = [*checkpoint.iterdir(), *(finished_run / "generator").iterdir(), *(finished_run / "discriminator").iterdir()]
    assert {oct(p.stat().st_mode & 0o777) for p in published} == {"0o644"}
    assert oct(checkpoint.stat().st_mode & 0o777) == "0o755"


def test_latest_falls_back_to_the_newest_intact_checkpoint_and_names_the_damaged_file(run_copy, data_dir, caplog):
    weights = run_copy / "checkpoint-4" / "model_1.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])  # truncated, as by a full disk or a killed copy
    with caplog.at_level(logging.WARNING):
        result = train(tiny_config(run_copy, data_dir, max_train_steps=5, resume_from_checkpoint="latest",
                                   validation_steps=100))
    damaged = [r.getMessage() for r in caplog.records if "is damaged" in r.getMessage()]
    assert damaged and "checkpoint-4" in damaged[0] and "model_1.safetensors has 1000 bytes" in damaged[0], damaged
    assert any(r.getMessage().endswith("checkpoint-2, the newest intact checkpoint") for r in caplog.records)
    assert result.global_step == 5
    # Step 4 was trained again and its checkpoint replaced the damaged one.
    assert [step for step, _ in list_checkpoints(run_copy)] == [2, 4, 5]
    assert verify_checkpoint(run_copy / "checkpoint-4")


def test_a_damaged_checkpoint_given_by_path_is_refused_in_one_line_naming_the_file(run_copy, data_dir, capsys):
    optimizer = run_copy / "checkpoint-2" / "optimizer.bin"
    data = bytearray(optimizer.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped bit-pattern, same size
    optimizer.write_bytes(bytes(data))
    status = train_command(_flags(run_copy / "other", data_dir, 3, "--resume_from_checkpoint",
                                  str(run_copy / "checkpoint-2")))
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    [line] = _error_lines(err)
    assert line.startswith("error: checkpoint ") and "checkpoint-2 is damaged: optimizer.bin does not match" in line
    assert not (run_copy / "other" / "checkpoint-3").exists()
    with pytest.raises(DamagedCheckpointError) as refused:
        train(tiny_config(run_copy / "other", data_dir, resume_from_checkpoint=str(run_copy / "checkpoint-2")))
    # The main process hands this error to the other ranks: it must survive pickling whole.
    again = pickle.loads(pickle.dumps(refused.value))
    assert (str(again), again.file) == (str(refused.value), "optimizer.bin")


def test_every_checkpoint_damaged_is_an_error_not_a_new_run(run_copy, data_dir):
    for step in (2, 4):
        (run_copy / f"checkpoint-{step}" / "model.safetensors").unlink()
    with pytest.raises(ValueError, match=r"no intact checkpoint .*checkpoint-4: model.safetensors is missing; "
                                         r"checkpoint-2: model.safetensors is missing"):
        train(tiny_config(run_copy, data_dir, max_train_steps=5, resume_from_checkpoint="latest"))


def test_a_damaged_rng_state_is_an_error_with_or_without_a_manifest(run_copy, data_dir):
    rng = run_copy / "checkpoint-4" / "random_states_0.pkl"
    garbage = b"\x80\x04 not a pickle at all"
    rng.write_bytes(garbage + rng.read_bytes()[len(garbage):])  # same size, other bytes
    with pytest.raises(DamagedCheckpointError, match="random_states_0.pkl does not match the SHA-256"):
        train(tiny_config(run_copy, data_dir, max_train_steps=5, resume_from_checkpoint=str(rng.parent)))
    (rng.parent / MANIFEST_NAME).unlink()  # as a checkpoint of an older version: the file itself is checked
    with pytest.raises(DamagedCheckpointError, match="random_states_0.pkl cannot be loaded"):
        train(tiny_config(run_copy, data_dir, max_train_steps=5, resume_from_checkpoint=str(rng.parent)))


@pytest.fixture
def small_tmpfs(tmp_path):
    """A real 4 MiB filesystem that can fill up (needs root and permission to mount)."""
    mount_point = tmp_path / f"tmpfs-{uuid.uuid4().hex[:8]}"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_is_one_line_and_leaves_no_half_written_checkpoint(small_tmpfs, data_dir, capsys):
    out = small_tmpfs / "run"
    assert train_command(_flags(out, data_dir, 2)) == 0
    capsys.readouterr()
    # Leave 100 kB: less than model.safetensors (about 170 kB), the first file of the next checkpoint.
    (small_tmpfs / "filler").write_bytes(b"\0" * (shutil.disk_usage(small_tmpfs).free - 100_000))

    status = train_command(_flags(out, data_dir, 3, "--resume_from_checkpoint", "latest"))
    err = capsys.readouterr().err
    assert status == 1 and "Traceback" not in err
    assert _error_lines(err) == [
        f"error: no space left while writing checkpoint-3/model.safetensors in {out}; checkpoint-2 is intact"
    ]
    assert sorted(p.name for p in out.iterdir() if p.name.startswith((".tmp", "checkpoint"))) == ["checkpoint-2"]
    assert verify_checkpoint(out / "checkpoint-2")
    assert not (out / "train.lock").exists()

"""The trainer as a program: 2 CPU processes through `accelerate launch`, and a run killed with SIGKILL."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sagan_hf.training.checkpointing import list_checkpoints
from sagan_hf.training.trainer import train
from test_train_step import one_torch_thread, tiny_config, write_training_shards  # noqa: F401 (fixture)

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "train.py"
# The trainer with a callback that records what each rank saw (tests/train_with_digests.py).
DIGEST_SCRIPT = REPO / "tests" / "train_with_digests.py"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(**extra):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.pop("ACCELERATE_USE_CPU", None)
    return env | extra


def _flags(out, data, steps, *switches):
    flags = {
        "--preset": "shapes-tiny", "--output_dir": str(out), "--train_data_dir": str(data),
        "--train_batch_size": "4", "--shuffle_buffer_size": "0", "--max_train_steps": str(steps),
        "--logging_steps": "1", "--validation_steps": "1000", "--checkpointing_steps": "2",
        "--report_to": "none",
    }
    return [item for pair in flags.items() for item in pair] + list(switches)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_training_shards(tmp_path_factory.mktemp("shards"), num_images=48, num_shards=4)


@pytest.mark.slow
def test_two_processes_with_accumulation_see_disjoint_data_stay_identical_and_checkpoint_once(tmp_path, data_dir):
    out = tmp_path / "ddp"
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        "--main_process_port", str(_free_port()), str(DIGEST_SCRIPT),
        *_flags(out, data_dir, 4, "--gradient_accumulation_steps", "2"),
    ]
    # Without ACCELERATE_USE_CPU=1 each process would silently train alone on a CPU-only machine.
    run = subprocess.run(command, env=_env(ACCELERATE_USE_CPU="1"), cwd=REPO, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]

    ranks = [json.loads((out / "rank_digests" / f"rank{r}.json").read_text()) for r in (0, 1)]
    # 4 steps x 2 accumulated micro-batches x batch 4 per rank (each rank's 24 images seen once or twice)
    assert len(ranks[0]["images"]) == len(ranks[1]["images"]) == 4 * 2 * 4
    assert not set(ranks[0]["images"]) & set(ranks[1]["images"]), "ranks saw the same images"
    assert ranks[0]["generator"] == ranks[1]["generator"] and ranks[0]["discriminator"] == ranks[1]["discriminator"]

    assert [step for step, _ in list_checkpoints(out)] == [2, 4]
    files = sorted(p.name for p in (out / "checkpoint-4").iterdir())
    assert files == sorted([
        "model.safetensors", "model_1.safetensors", "optimizer.bin", "optimizer_1.bin", "random_states_0.pkl",
        "random_states_1.pkl", "custom_checkpoint_0.pkl", "custom_checkpoint_1.pkl", "data_state_rank0.json",
        "data_state_rank1.json", "checkpoint_manifest.json",
    ])
    assert not list(out.glob(".tmp-*"))
    record = json.loads((out / "train_config.json").read_text())
    assert record["num_processes"] == 2 and record["global_step"] == 4 and record["images_per_step"] == 16


@pytest.mark.slow
def test_a_killed_run_resumes_from_its_last_complete_checkpoint(tmp_path, data_dir):
    out = tmp_path / "killed"
    # The child's output goes to a file, read on failure: an unread pipe fills up (64 KB) and then
    # blocks the child mid-write, which would stall it before its checkpoints.
    log_path = tmp_path / "child.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(SCRIPT), *_flags(out, data_dir, 100_000)],
            env=_env(), cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 180
        while len(list_checkpoints(out)) < 2:
            assert process.poll() is None, log_path.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "no two checkpoints within 180 s:\n" + log_path.read_text(
                errors="replace")[-3000:]
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    # What a kill in the middle of a save leaves behind: a temporary folder that must not be picked.
    half = out / ".tmp-checkpoint-999999"
    half.mkdir()
    (half / "model.safetensors").write_bytes(b"truncated")
    last = list_checkpoints(out)[-1][0]

    result = train(tiny_config(out, data_dir, max_train_steps=last + 2, resume_from_checkpoint="latest"))
    assert result.global_step == last + 2
    assert not half.exists()
    assert list_checkpoints(out)[-1][0] == last + 2
    assert json.loads((out / "train_config.json").read_text())["global_step"] == last + 2

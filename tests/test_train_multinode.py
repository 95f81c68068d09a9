"""Two "machines" on loopback (two `accelerate launch --num_machines 2` commands, gloo on CPU): they train,
write each checkpoint once, stop together when one machine is told to, and the run resumes elastically."""

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from child_output import ChildOutput
from test_train_step import one_torch_thread, tiny_config, write_training_shards  # noqa: F401 (fixture)

from sagan_hf.training.checkpoint_manifest import MANIFEST_NAME, verify_checkpoint
from sagan_hf.training.checkpointing import list_checkpoints
from sagan_hf.training.run_lock import LOCK_NAME
from sagan_hf.training.trainer import train

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "train.py"
LONG = 100_000
DEFAULT_DATA = {"shuffle_buffer_size": 1000, "dataloader_num_workers": 0}  # DataOptions' defaults


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def machine_command(machine_rank: int, port: int, out: Path, data: Path) -> list[str]:
    """What each machine runs (docs/training.md shows the same command)."""
    return [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_machines", "2",
        "--num_processes", "2", "--machine_rank", str(machine_rank), "--main_process_ip", "127.0.0.1",
        "--main_process_port", str(port), "--mixed_precision", "no", "--dynamo_backend", "no", str(SCRIPT),
        "--preset", "shapes-tiny", "--output_dir", str(out), "--train_data_dir", str(data),
        "--train_batch_size", "4", "--shuffle_buffer_size", "1000", "--max_train_steps", str(LONG),
        "--logging_steps", "1", "--checkpointing_steps", "2", "--validation_steps", "1000",
        "--resume_from_checkpoint", "latest",
    ]


@pytest.mark.slow
def test_two_machines_train_checkpoint_once_stop_together_and_the_run_resumes_on_another_count(tmp_path, caplog):
    data = write_training_shards(tmp_path / "shards", num_images=48, num_shards=4)
    out = tmp_path / "run"
    # One process first: the two machines then resume its data position (1 -> 2 processes).
    train(tiny_config(out, data, max_train_steps=2, **DEFAULT_DATA))

    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", ACCELERATE_USE_CPU="1")
    port = _free_port()
    machines = [
        subprocess.Popen(machine_command(rank, port, out, data), env=env, cwd=REPO,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for rank in (0, 1)
    ]
    outputs = [ChildOutput(machine.stderr) for machine in machines]
    try:
        deadline = time.monotonic() + 300
        while list_checkpoints(out)[-1][0] < 4:  # the first checkpoint of the two machines
            assert all(m.poll() is None for m in machines), "\n".join(o.text[-3000:] for o in outputs)
            assert time.monotonic() < deadline, "no checkpoint-4 within 300 s"
            time.sleep(0.1)
        machines[1].send_signal(signal.SIGTERM)  # pre-empt one machine only: its launcher forwards SIGTERM
        for machine in machines:
            machine.wait(timeout=240)
    finally:
        for machine in machines:
            if machine.poll() is None:
                machine.kill()
                machine.wait()
    text = [output.wait_closed(timeout=60) for output in outputs]

    # Rank 1 (machine 1) got the signal; rank 0 (machine 0) learned it at the next check: the same step.
    agreed = re.search(r"SIGTERM reached another process: stopping after step (\d+)", text[0])
    assert agreed, text[0][-4000:]
    step = int(agreed.group(1))
    assert f"stopped after step {step} (SIGTERM reached another process) with a checkpoint of it" in text[0]
    assert "resumed by 2" in text[0], "no warning about the re-derived data position"

    checkpoints = [s for s, _ in list_checkpoints(out)]
    assert checkpoints[-1] == step and {2, 4} <= set(checkpoints)
    expected = {
        "model.safetensors", "model_1.safetensors", "optimizer.bin", "optimizer_1.bin", "custom_checkpoint_0.pkl",
        "custom_checkpoint_1.pkl", "random_states_0.pkl", "random_states_1.pkl", "data_state_rank0.json",
        "data_state_rank1.json", MANIFEST_NAME,
    }
    for later in checkpoints[1:]:  # written by the two machines: once, complete, with both ranks' files
        assert {p.name for p in (out / f"checkpoint-{later}").iterdir()} == expected
        assert verify_checkpoint(out / f"checkpoint-{later}")
    assert not list(out.glob(".tmp-*")) and not (out / LOCK_NAME).exists()
    assert json.loads((out / "train_config.json").read_text())["num_processes"] == 2

    # And back to one process (2 -> 1 with the default shuffle buffer used to crash inside datasets).
    with caplog.at_level(logging.WARNING):
        result = train(tiny_config(out, data, max_train_steps=step + 2, resume_from_checkpoint="latest",
                                   **DEFAULT_DATA))
    assert result.global_step == step + 2
    assert any("saved by 2 process(es) and is resumed by 1" in r.getMessage() for r in caplog.records)

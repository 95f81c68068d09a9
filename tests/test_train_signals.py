"""Pre-emption: a stop signal or a dead launcher ends a run after a checkpoint of its current step."""

import functools
import json
import logging
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from child_output import ChildOutput
from test_train_step import one_torch_thread, write_training_shards  # noqa: F401 (fixture)

from sagan_hf.cli.train import main as train_command
from sagan_hf.training import TrainCallback
from sagan_hf.training.checkpoint_manifest import verify_checkpoint
from sagan_hf.training.checkpointing import list_checkpoints
from sagan_hf.training.run_lock import LOCK_NAME

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "train.py"
LONG = 100_000  # steps: only a signal ends these runs
STEP_2_OR_LATER = rf"\| *([2-9]|\d\d+)/{LONG}"  # the progress bar


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_training_shards(tmp_path_factory.mktemp("shards"), num_images=32, num_shards=2)


class SignalsAt(TrainCallback):
    """Sends `signums` to this process just before step `step` trains."""

    def __init__(self, step, *signums):
        self.step, self.signums = step, signums

    def on_batches(self, batches, step):
        if step == self.step:
            for signum in self.signums:
                os.kill(os.getpid(), signum)


def signal_at(step, signum, monkeypatch, twice=False):
    """Make the command's own `train` signal this process just before `step` (twice: a second Ctrl-C)."""
    import sagan_hf.training.trainer as trainer

    callback = SignalsAt(step, *([signum] * (2 if twice else 1)))
    monkeypatch.setattr(trainer, "train", functools.partial(trainer.train, callbacks=[callback]))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGUSR1, signal.SIGINT], ids=["TERM", "USR1", "INT"])
def test_a_stop_signal_finishes_the_step_checkpoints_it_and_exits_128_plus_its_number(
    tmp_path, data_dir, signum, monkeypatch, capsys, caplog
):
    signal_at(3, signum, monkeypatch)
    before = signal.getsignal(signum)
    out = tmp_path / "run"
    with caplog.at_level(logging.WARNING):
        status = train_command(_flags(out, data_dir))
    err = capsys.readouterr().err
    assert status == 128 + signum and "Traceback" not in err
    assert _stopped_step(err, f"received {signum.name}") == 3  # the command's last line
    assert f"received {signum.name}: stopping after step 3, writing a checkpoint of it" in caplog.messages
    assert [step for step, _ in list_checkpoints(out)] == [3] and verify_checkpoint(out / "checkpoint-3")
    assert json.loads((out / "train_config.json").read_text())["global_step"] == 3
    assert signal.getsignal(signum) is before and not (out / LOCK_NAME).exists()


def test_a_second_ctrl_c_stops_at_once(tmp_path, data_dir, monkeypatch, capsys):
    signal_at(2, signal.SIGINT, monkeypatch, twice=True)
    out = tmp_path / "run"
    assert train_command(_flags(out, data_dir)) == 130
    assert "interrupted twice: stopped at once" in capsys.readouterr().err
    assert list_checkpoints(out) == [] and not (out / LOCK_NAME).exists()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def _flags(out, data_dir):
    return ["--preset", "shapes-tiny", "--output_dir", str(out), "--train_data_dir", str(data_dir),
            "--train_batch_size", "4", "--shuffle_buffer_size", "0", "--max_train_steps", str(LONG),
            "--logging_steps", "1", "--validation_steps", "1000", "--checkpointing_steps", "1000",
            "--report_to", "none"]


def _environment():
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    for name in ("ACCELERATE_USE_CPU", "TORCHELASTIC_RUN_ID", "ACCELERATE_DYNAMO_BACKEND"):
        env.pop(name, None)
    return env


def _stopped_step(output: str, reason: str) -> int:
    """The step of the command's last line, `stopped after step N (<reason>) with a checkpoint of it; ...`."""
    match = re.search(rf"stopped after step (\d+) \({re.escape(reason)}\) with a checkpoint of it", output)
    assert match, output[-3000:]
    return int(match.group(1))


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # an orphan's zombie may wait for a reaper that never comes in a container


@pytest.mark.slow
def test_a_trainer_whose_launcher_dies_checkpoints_and_stops_instead_of_running_on(tmp_path, data_dir):
    # A 1-process `accelerate launch` does not forward SIGTERM: its child used to keep training, orphaned.
    out = tmp_path / "run"
    launcher = subprocess.Popen(
        [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1", "--num_machines", "1",
         "--mixed_precision", "no", "--dynamo_backend", "no", str(SCRIPT), *_flags(out, data_dir)],
        env=_environment(), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    output = ChildOutput(launcher.stderr)  # the trainer writes into the same pipe, and keeps it open
    try:
        output.wait_for(STEP_2_OR_LATER, timeout=240, alive=lambda: launcher.poll() is None)
        trainer = json.loads((out / LOCK_NAME).read_text())["pid"]
        assert trainer != launcher.pid
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=60) == -signal.SIGTERM
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
    text = output.wait_closed(timeout=120)  # closed when the orphaned trainer has exited
    step = _stopped_step(text, f"the launcher (pid {launcher.pid}) exited")
    assert f"the launcher (pid {launcher.pid}) exited: stopping after step {step}" in text
    assert [s for s, _ in list_checkpoints(out)] == [step] and verify_checkpoint(out / f"checkpoint-{step}")
    assert not _running(trainer) and not (out / LOCK_NAME).exists()

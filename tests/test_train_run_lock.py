"""One live run per output folder: the lock refuses a second run, names its holder, and outlives no one."""

import json
import logging
import os
import socket
import subprocess
import sys

import pytest
from test_train_step import tiny_config, write_training_shards

from sagan_hf.training.errors import OutputDirInUseError
from sagan_hf.training.run_lock import LOCK_NAME, RunLock, process_start_ticks
from sagan_hf.training.trainer import train

# Another run holding the folder, as RunLock does it (an exclusive flock and a record of who it is);
# written out here so that the child starts in a fraction of a second, without importing torch.
HOLD_LOCK = """
import fcntl, json, os, socket, sys
descriptor = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
record = {"host": socket.gethostname(), "pid": os.getpid(), "started": "2026-01-01 00:00:00 +0000"}
os.write(descriptor, json.dumps(record).encode())
print("held", flush=True)
sys.stdin.read()
"""


def test_a_second_run_is_refused_naming_the_holder_and_a_killed_holders_lock_is_taken_over(tmp_path, caplog):
    out = tmp_path / "run"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(out / LOCK_NAME)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        expected = f"{out} is in use by another training run \\(pid {holder.pid} on host {socket.gethostname()}, started "
        with pytest.raises(OutputDirInUseError, match=expected):
            train(tiny_config(out, write_training_shards(tmp_path / "data", num_images=4, num_shards=1)))
        assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME]  # refused before touching anything
    finally:
        holder.kill()  # SIGKILL: the lock file stays behind, naming a pid that is gone
        holder.wait()
        holder.stdout.close()
        holder.stdin.close()
    assert json.loads((out / LOCK_NAME).read_text())["pid"] == holder.pid

    with caplog.at_level(logging.WARNING), RunLock(out):
        assert json.loads((out / LOCK_NAME).read_text())["pid"] == os.getpid()
        with pytest.raises(OutputDirInUseError, match=f"pid {os.getpid()} on host"):
            RunLock(out).acquire()  # a second run in this very process is refused as well
    assert any(f"no longer runs (pid {holder.pid} on host" in r.getMessage() for r in caplog.records)
    assert not (out / LOCK_NAME).exists()  # released


def _write_lock(folder, **fields):
    folder.mkdir(parents=True, exist_ok=True)
    record = {"host": socket.gethostname(), "pid": 1, "started": "2026-01-01 00:00:00 +0000"} | fields
    (folder / LOCK_NAME).write_text(json.dumps(record))


def test_a_reused_pid_is_stale_and_another_hosts_lock_is_kept_unless_it_is_this_slurm_job(tmp_path, monkeypatch):
    # pid 1 is alive, but it is not the process that started at this (impossible) time: the pid was reused.
    assert process_start_ticks(1) != "123456789123"
    _write_lock(tmp_path / "reused", pid=1, process_start="123456789123")
    with RunLock(tmp_path / "reused"):
        pass

    _write_lock(tmp_path / "remote", host="node-17", pid=4242, slurm_job_id="9001")
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    lock_file = tmp_path / "remote" / LOCK_NAME
    with pytest.raises(OutputDirInUseError, match=f"pid 4242 on host node-17.*SLURM job 9001.*delete {lock_file}"):
        RunLock(tmp_path / "remote").acquire()
    monkeypatch.setenv("SLURM_JOB_ID", "9001")  # this job, requeued: its earlier incarnation is over
    with RunLock(tmp_path / "remote"):
        assert json.loads(lock_file.read_text())["slurm_job_id"] == "9001"

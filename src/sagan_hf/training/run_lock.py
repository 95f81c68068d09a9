"""One live training run per output folder: `output_dir/train.lock` names its holder.

Two runs writing into one folder would prune each other's checkpoints and interleave their pipelines.
The lock file records the holder's host, pid, process start and wall-clock start (and SLURM job id);
while the run lives it also holds an exclusive `flock` on the file, so two runs starting at the same
moment cannot both take it. A lock whose holder is gone is stale and taken over with a warning:

- on this host: the pid no longer exists, or it is another process now (its start time differs);
- on another host (shared filesystem): only when it names this SLURM job (an earlier, pre-empted
  incarnation of a requeued job); otherwise we cannot know, so the message says which file to delete.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import OutputDirInUseError

logger = logging.getLogger(__name__)

LOCK_NAME = "train.lock"


def process_start_ticks(pid: int) -> str | None:
    """The kernel's start time of `pid` (clock ticks since boot), which changes when a pid is reused."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def pid_is_running(pid: int, start_ticks: str | None = None) -> bool:
    """True when `pid` exists on this host and, if known, is still the process that started at `start_ticks`."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    return start_ticks is None or process_start_ticks(pid) in (None, start_ticks)


@dataclass
class LockHolder:
    host: str
    pid: int
    started: str
    process_start: str | None = None
    slurm_job_id: str | None = None

    @classmethod
    def this_process(cls) -> LockHolder:
        return cls(
            host=socket.gethostname(), pid=os.getpid(), started=time.strftime("%Y-%m-%d %H:%M:%S %z"),
            process_start=process_start_ticks(os.getpid()), slurm_job_id=os.environ.get("SLURM_JOB_ID"),
        )

    @classmethod
    def parse(cls, text: str) -> LockHolder | None:
        try:
            record = json.loads(text)
            return cls(host=str(record["host"]), pid=int(record["pid"]), started=str(record["started"]),
                       process_start=record.get("process_start"), slurm_job_id=record.get("slurm_job_id"))
        except (ValueError, KeyError, TypeError):
            return None  # empty (a holder killed between create and write) or not ours

    def describe(self) -> str:
        job = f", SLURM job {self.slurm_job_id}" if self.slurm_job_id else ""
        return f"pid {self.pid} on host {self.host}, started {self.started}{job}"

    def is_gone(self) -> bool:
        """Whether the holder certainly no longer runs (see the module docstring)."""
        if self.host == socket.gethostname():
            return self.pid == os.getpid() or not pid_is_running(self.pid, self.process_start)
        current_job = os.environ.get("SLURM_JOB_ID")
        return current_job is not None and current_job == self.slurm_job_id


class RunLock:
    """`with RunLock(output_dir):` holds the folder for one run; raises `OutputDirInUseError` if it is taken."""

    def __init__(self, output_dir: str | Path):
        self.output_dir = Path(output_dir)
        self.path = self.output_dir / LOCK_NAME
        self._descriptor: int | None = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def _refuse(self, holder: LockHolder | None) -> OutputDirInUseError:
        who = holder.describe() if holder else "a process that left no details"
        hint = "wait for it to finish or choose another --output_dir"
        if holder is not None and holder.host != socket.gethostname():
            hint += f"; if that run is no longer running, delete {self.path}"
        return OutputDirInUseError(f"{self.output_dir} is in use by another training run ({who}): {hint}")

    def acquire(self) -> None:
        self.output_dir.mkdir(parents=True, exist_ok=True)
        for _ in range(5):  # retried only when the file was replaced under us
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
            try:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as error:
                    if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                        raise self._refuse(LockHolder.parse(_read(descriptor))) from None
                    # A filesystem without flock: the recorded holder alone decides.
                if not _same_file(descriptor, self.path):
                    os.close(descriptor)  # released and deleted by its holder meanwhile: start over
                    continue
                holder = LockHolder.parse(_read(descriptor))
                if holder is not None:
                    if not holder.is_gone():
                        raise self._refuse(holder)
                    logger.warning("%s was left by a run that no longer runs (%s): taking it over", self.path,
                                   holder.describe())
                _write(descriptor, json.dumps(asdict(LockHolder.this_process()), indent=1) + "\n")
            except BaseException:
                os.close(descriptor)
                raise
            self._descriptor = descriptor
            return
        raise self._refuse(None)

    def release(self) -> None:
        if self._descriptor is None:
            return
        try:
            if _same_file(self._descriptor, self.path):
                self.path.unlink()
        finally:
            os.close(self._descriptor)  # drops the flock
            self._descriptor = None


def _read(descriptor: int) -> str:
    return os.pread(descriptor, 1 << 16, 0).decode("utf-8", errors="replace")


def _write(descriptor: int, text: str) -> None:
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, text.encode("utf-8"), 0)
    os.fsync(descriptor)


def _same_file(descriptor: int, path: Path) -> bool:
    try:
        return os.fstat(descriptor).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False

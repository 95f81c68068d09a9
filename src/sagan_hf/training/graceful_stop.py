"""Stopping a run without losing steps: signals and the death of the launcher become a stop request.

SIGTERM (what schedulers and `kill` send), SIGUSR1 (what SLURM's `--signal` sends before the time
limit) and SIGINT (Ctrl-C) no longer kill the trainer: it finishes the current step, writes a
checkpoint of it on every rank, says so, and exits with status 128 + the signal number (the status a
shell reports for a process killed by that signal: 143, 138, 130). A second Ctrl-C stops at once.

A trainer started by a launcher (`accelerate launch`, `torchrun`) also stops like that when the
launcher disappears: torchrun puts its workers in sessions of their own, and a 1-process `accelerate
launch` that gets SIGTERM leaves its child running, so without this the orphan would go on writing
into output_dir. The parent pid is polled from a thread (no prctl: it would outlive `train()`, and
it fires when the forking *thread* ends).

Ranks must stop at the same step, or the ones still training would wait forever in their next
all-reduce. Every rank compares its request with the others' (a max all-reduce, one host sync) at
every logging step and every `STOP_CHECK_STEPS` steps, never in between: a request is acted on at
most `min(logging_steps, STOP_CHECK_STEPS) - 1` steps after it arrived. A single process acts after
the current step.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

from accelerate import Accelerator

from .agreement import any_rank

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1, signal.SIGINT)
STOP_CHECK_STEPS = 10
PARENT_POLL_SECONDS = 0.5
# Set by torchrun (and `accelerate launch --multi_gpu`) / by every `accelerate launch` for its child.
LAUNCHER_ENVIRONMENT = ("TORCHELASTIC_RUN_ID", "ACCELERATE_DYNAMO_BACKEND")


def started_by_a_launcher() -> bool:
    """Whether our parent is a launcher whose death means the job is over (not a shell: `nohup` must work)."""
    return any(os.environ.get(name) for name in LAUNCHER_ENVIRONMENT)


def exit_status_for(signum: int) -> int:
    """128 + the signal number, as a shell reports a process killed by it."""
    return 128 + int(signum)


def signal_name(signum: int) -> str:
    return signal.Signals(signum).name


class StopRequest:
    """Turns stop signals and the launcher's death into `signum` / `reason`; use as a context manager.

    Handlers are installed only in the main thread, and over SIGINT only when it is not ignored (a
    shell's background job ignores it: Ctrl-C is not meant for it). SIGTERM and SIGUSR1 are handled
    even when inherited as ignored: the SLURM recipe of docs/training.md starts the launcher with
    SIGUSR1 ignored, so that only the trainer acts on it. The previous handlers come back on exit.
    """

    def __init__(self, watch_parent: bool = False):
        self.watch_parent = watch_parent
        self.signum: int | None = None
        self.reason: str | None = None
        self._previous: dict[int, object] = {}
        self._done = threading.Event()
        self._watcher: threading.Thread | None = None

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                current = signal.getsignal(signum)
                if current is signal.SIG_IGN and signum == signal.SIGINT:
                    continue
                self._previous[signum] = current
                signal.signal(signum, self._on_signal)
        else:
            logger.warning("train() runs outside the main thread: SIGTERM/SIGINT will not stop it cleanly")
        if self.watch_parent:
            parent = os.getppid()
            self._watcher = threading.Thread(target=self._watch, args=(parent,), name="parent-watch", daemon=True)
            self._watcher.start()
        return self

    def __exit__(self, *exc) -> None:
        self._restore_handlers()
        self._done.set()
        if self._watcher is not None:
            self._watcher.join()

    def _restore_handlers(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def request(self, signum: int, reason: str) -> None:
        if self.signum is None:
            self.signum, self.reason = int(signum), reason

    def _on_signal(self, signum, frame) -> None:
        if signum == signal.SIGINT and self.signum is not None:
            self._restore_handlers()
            raise KeyboardInterrupt("a second interrupt: stopping at once, without a checkpoint of this step")
        self.request(signum, f"received {signal_name(signum)}")

    def _watch(self, parent: int) -> None:
        while not self._done.wait(PARENT_POLL_SECONDS):
            if os.getppid() != parent:
                self.request(signal.SIGTERM, f"the launcher (pid {parent}) exited")
                return

    def agreed(self, accelerator: Accelerator, step: int, at_sync_point: bool) -> bool:
        """Whether to stop after `step`: the same answer on every rank (call after every step, on all ranks)."""
        if accelerator.num_processes == 1:
            return self.signum is not None
        if not at_sync_point and step % STOP_CHECK_STEPS:
            return False
        signum = any_rank(accelerator, self.signum or 0)
        if signum:
            self.request(signum, f"{signal_name(signum)} reached another process")
        return bool(signum)

    @property
    def exit_status(self) -> int:
        return exit_status_for(self.signum) if self.signum is not None else 0

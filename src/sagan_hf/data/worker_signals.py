"""DataLoader workers leave stop signals to the trainer, which ends them when it is done.

A scheduler's SIGTERM (SLURM signals every process of the job, torchrun the whole process group of
each rank) and a terminal's Ctrl-C reach the decode workers too. A worker killed by one would make
PyTorch raise "DataLoader worker exited unexpectedly" in the trainer, in the middle of the step or of
the checkpoint it is writing before it stops. So workers ignore SIGINT and SIGUSR1, and obey SIGTERM
only when it comes from the trainer itself: that is how PyTorch (and multiprocessing at exit) ends
workers that do not stop by themselves.
"""

from __future__ import annotations

import os
import signal
import threading


def leave_stop_signals_to_the_trainer(worker_id: int) -> None:
    """`worker_init_fn` of the stream's DataLoaders."""
    for signum in (signal.SIGINT, signal.SIGUSR1):
        signal.signal(signum, signal.SIG_IGN)
    if not hasattr(signal, "sigwaitinfo"):  # macOS: SIGTERM keeps its default
        return
    trainer = os.getppid()
    # Blocked here and in every thread started later; only the waiter below receives it.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    threading.Thread(target=_obey_sigterm_from, args=(trainer,), name="sigterm-from-trainer", daemon=True).start()


def _obey_sigterm_from(trainer: int) -> None:
    while True:
        if signal.sigwaitinfo({signal.SIGTERM}).si_pid == trainer:
            # Status 0: the trainer asked for it; any other status (or a death by signal) makes
            # PyTorch's SIGCHLD handler raise "worker exited unexpectedly" in the trainer.
            os._exit(0)

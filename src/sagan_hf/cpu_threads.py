"""How many CPU threads torch gets where the package picks the count itself (one policy, one place).

The package picks it for its own fixed-size CPU work: the `shapes` demo (training and report) and the
small `shapes` classifier. It picks ONE thread, because on a machine shared with other jobs more
threads collapse: measured on 2 cores, the shapes-demo trainer made 297 steps in 45 s with 2 OpenMP
threads on idle cores but 22 with one core kept busy by another job (the threads spin-wait for each
other), while one thread made 193 idle and 196 busy. One thread is slower on an idle machine and
never much slower on a busy one, so a fixed amount of work takes a predictable time.

`SAGAN_HF_CPU_THREADS=N` overrides the choice (e.g. 2 on a machine known to be idle). Training and
sampling commands do not change torch's thread count: there torch's default (or `OMP_NUM_THREADS`, or
`accelerate launch`, which sets 1 per process) applies; see docs/training.md, "CPU runs".
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch

THREADS_ENV = "SAGAN_HF_CPU_THREADS"
DEFAULT_THREADS = 1


def package_cpu_threads() -> int:
    """The thread count the package uses for its own CPU work: `SAGAN_HF_CPU_THREADS`, else 1."""
    text = os.environ.get(THREADS_ENV, "").strip()
    if not text:
        return DEFAULT_THREADS
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise ValueError(f"{THREADS_ENV} must be a positive integer (CPU threads), got {text!r}")
    return count


def use_package_cpu_threads() -> int:
    """Set torch's intra-op threads to `package_cpu_threads()` for the rest of the process; returns it."""
    count = package_cpu_threads()
    torch.set_num_threads(count)
    return count


@contextlib.contextmanager
def package_cpu_threads_for_block() -> Iterator[int]:
    """Run a block with `package_cpu_threads()` threads, then restore the previous count."""
    previous = torch.get_num_threads()
    count = package_cpu_threads()
    torch.set_num_threads(count)
    try:
        yield count
    finally:
        torch.set_num_threads(previous)

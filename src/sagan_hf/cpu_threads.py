"""How many CPU threads torch gets where the package picks the count itself (one policy, one place).

The package picks it for its own fixed-size CPU work: the `shapes` demo (training and report) and the
small `shapes` classifier. Neither fixed choice holds up on a machine shared with other jobs. Measured
on 2 cores (shapes-demo trainer, 45 s): 2 OpenMP threads made 297 steps on idle cores but 22 with one
core kept busy by another job (the threads spin-wait for each other at every parallel region), while
one thread made 193 idle and 196 busy. On an AVX2 2-core machine: 3.4 steps/s with 2 threads idle,
0.8 with a core busy, 2.3 with one thread either way.

So the policy is adaptive: work runs in small units (a training step, a batch) on all cores (at most
`MAX_THREADS`) while they are measured faster than one thread, and on one thread as soon as they are
not. `AdaptiveThreads` starts on one thread, times every unit (after two warm-up units per thread
count, which pay one-off costs), tries all cores, drops to one thread after two units that ran at less than
half the one-thread speed (a collapse costs two slow units, not a run), and re-tries the other count
now and then (after 20 s, doubling up to 160 s while the choice holds), so it follows the machine as
other jobs come and go. The result does not depend on it: only the time does (and the last bits of
floating-point sums, which depend on how work is split between threads).

`SAGAN_HF_CPU_THREADS=N` fixes the count instead. Training and sampling commands do not change torch's
thread count: there torch's default (or `OMP_NUM_THREADS`, or `accelerate launch`, which sets 1 per
process) applies; see docs/training.md, "CPU runs and threads".
"""

from __future__ import annotations

import contextlib
import logging
import os
import statistics
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator

import torch

logger = logging.getLogger(__name__)

THREADS_ENV = "SAGAN_HF_CPU_THREADS"
MAX_THREADS = 4  # the package's own CPU work is small nets: more threads barely help them


def fixed_cpu_threads() -> int | None:
    """The count set with `SAGAN_HF_CPU_THREADS`, or None when the package adapts it."""
    text = os.environ.get(THREADS_ENV, "").strip()
    if not text:
        return None
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise ValueError(f"{THREADS_ENV} must be a positive integer (CPU threads), got {text!r}")
    return count


def available_cores() -> int:
    """Cores this process may run on (its affinity mask, e.g. under taskset or a container's cpuset)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


class AdaptiveThreads:
    """Chooses, unit of work by unit of work, between one thread and `many`, by their measured speed.

    Call `unit_done(seconds)` after each unit (or wrap it in `with threads.timed():`); the choice is
    applied with `set_threads` (torch.set_num_threads). Units should be of similar size.
    """

    def __init__(self, many: int, *, adapt: bool = True, window: int = 5, warmup: int = 2, collapse_ratio: float = 2.0,
                 gain_needed: float = 0.9, first_interval_s: float = 20.0, max_interval_s: float = 160.0,
                 clock: Callable[[], float] = time.perf_counter,
                 set_threads: Callable[[int], None] = torch.set_num_threads):
        if many < 1:
            raise ValueError(f"many must be >= 1, got {many}")
        self.many, self.window, self.collapse_ratio, self.gain_needed = many, window, collapse_ratio, gain_needed
        self.adaptive = adapt and many > 1
        self.first_interval_s, self.max_interval_s = first_interval_s, max_interval_s
        self.clock, self._set_threads = clock, set_threads
        self.recent = {1: deque(maxlen=window), many: deque(maxlen=window)}
        self.units = Counter()  # units run per thread count
        self.switches = 0
        # The first units on each thread count pay one-off costs (allocations, oneDNN kernels built for
        # that count): they are neither measured nor judged.
        self.warmup = warmup
        self._interval = first_interval_s
        self._probe_left = 0
        self._next_probe_at = None
        # Start on one thread: the probe of `many` that follows can then stop at its first collapsed unit.
        self.threads = 1 if self.adaptive else many
        self._set_threads(self.threads)

    def _other(self) -> int:
        return 1 if self.threads == self.many else self.many

    def _switch(self, threads: int) -> None:
        if threads != self.threads:
            logger.debug("CPU threads %d -> %d (median s/unit: %s)", self.threads, threads,
                         {n: round(statistics.median(t), 4) for n, t in self.recent.items() if t})
            self.threads = threads
            self.switches += 1
            self._set_threads(threads)

    def _schedule_probe(self, choice_held: bool) -> None:
        self._interval = min(2 * self._interval, self.max_interval_s) if choice_held else self.first_interval_s
        self._next_probe_at = self.clock() + self._interval

    def _collapsed(self, *seconds: float) -> bool:
        one = self.recent[1]
        return bool(one) and min(seconds) > self.collapse_ratio * statistics.median(one)

    def _decide(self, previous: int) -> None:
        many_faster = statistics.median(self.recent[self.many]) < self.gain_needed * statistics.median(self.recent[1])
        choice = self.many if many_faster else 1  # a tie goes to one thread: it leaves the cores to others
        self._switch(choice)
        self._schedule_probe(choice_held=choice == previous)

    def unit_done(self, seconds: float) -> None:
        self.units[self.threads] += 1
        if not self.adaptive:
            return
        current, samples = self.threads, self.recent[self.threads]
        if self.units[current] <= self.warmup:
            return
        samples.append(seconds)
        if self._probe_left > 0:  # trying the other count
            if current == self.many and self._collapsed(seconds):  # cores still busy: stop at once
                self._probe_left = 0
                self._switch(1)
                self._schedule_probe(choice_held=True)
                return
            self._probe_left -= 1
            if self._probe_left == 0:
                self._decide(previous=self._other())
            return
        if current == self.many and len(samples) >= 2 and self._collapsed(samples[-1], samples[-2]):
            samples.clear()  # measured before the collapse; stale now
            self._switch(1)
            self._schedule_probe(choice_held=False)
            return
        if self._next_probe_at is None:  # the start: after a window on one thread, try `many`
            if len(samples) >= self.window:
                self._begin_probe()
            return
        if self.clock() >= self._next_probe_at:
            self._begin_probe()

    def _begin_probe(self) -> None:
        other = self._other()
        self.recent[other].clear()
        self._probe_left = self.window
        self._switch(other)

    @contextlib.contextmanager
    def timed(self) -> Iterator[None]:
        start = self.clock()
        yield
        self.unit_done(self.clock() - start)

    def summary(self, unit: str = "units") -> str:
        """E.g. `2 threads for 1180 steps, 1 thread for 120 steps (3 switches)` with unit="steps"."""
        if not self.adaptive:
            return f"{self.many} thread{'s' if self.many > 1 else ''} throughout"
        parts = [f"{n} thread{'s' if n > 1 else ''} for {count} {unit}" for n, count in sorted(
            self.units.items(), reverse=True) if count]
        return ", ".join(parts) + f" ({self.switches} switches)"


def package_threads() -> AdaptiveThreads:
    """The package's thread policy, applied now: `SAGAN_HF_CPU_THREADS` if set, else adaptive between one
    thread and the available cores (at most MAX_THREADS)."""
    fixed = fixed_cpu_threads()
    if fixed is not None:
        return AdaptiveThreads(fixed, adapt=False)
    return AdaptiveThreads(min(available_cores(), MAX_THREADS))


def describe_policy(threads: AdaptiveThreads) -> str:
    if not threads.adaptive:
        return f"{threads.many} CPU thread{'s' if threads.many > 1 else ''}"
    return f"1-{threads.many} CPU threads, chosen by measured speed"


@contextlib.contextmanager
def package_threads_for_block() -> Iterator[AdaptiveThreads]:
    """Run a block under the package's thread policy, then restore the previous thread count."""
    previous = torch.get_num_threads()
    try:
        yield package_threads()
    finally:
        torch.set_num_threads(previous)

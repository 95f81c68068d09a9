"""Timing and peak-memory helpers shared by every benchmark section.

Times are wall-clock per call, with warm-up calls excluded; on CUDA the device is synchronised
before the clock starts and before it stops, so queued kernels are counted. Peak memory is CUDA's
max allocated bytes, or on a CPU the process's peak resident set (VmHWM), reset through
/proc/self/clear_refs before each measurement.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable

import torch


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak_memory(device: torch.device) -> None:
    """Start a fresh peak-memory window (CUDA allocator stats, or the process's VmHWM on Linux)."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # "5" resets the peak RSS to the current RSS (Linux >= 4.0)
    except OSError:
        pass


def peak_memory_mib(device: torch.device) -> float | None:
    """Peak since the last reset: CUDA max allocated, or the CPU process's peak RSS; MiB."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class Timing:
    """Seconds per call of the timed calls (warm-up excluded) and the peak memory of the whole window."""

    seconds: list[float]
    peak_mib: float | None

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def spread(self) -> dict:
        """The timing noise: the interquartile range of the timed calls (their full range below 4 calls),
        in % of the median, to tell a real difference between rows from noise."""
        if len(self.seconds) < 2:
            return {}
        if len(self.seconds) >= 4:
            low, _, high = statistics.quantiles(self.seconds, n=4)
        else:
            low, high = min(self.seconds), max(self.seconds)
        return {"spread_pct": round(100 * (high - low) / self.median, 1)}


def time_calls(fn: Callable[[], object], device: torch.device, warmup: int, iters: int,
               max_seconds: float | None = None) -> Timing:
    """Call `fn` `warmup` times untimed, then up to `iters` times timed (fewer once `max_seconds` is spent).

    At least one timed call is always made. The peak-memory window covers warm-up and timed calls.
    """
    if iters < 1 or warmup < 0:
        raise ValueError(f"iters must be >= 1 and warmup >= 0, got iters={iters}, warmup={warmup}")
    reset_peak_memory(device)
    for _ in range(warmup):
        fn()
    synchronize(device)
    seconds: list[float] = []
    spent = 0.0
    while len(seconds) < iters and (max_seconds is None or not seconds or spent < max_seconds):
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        seconds.append(time.perf_counter() - start)
        spent += seconds[-1]
    return Timing(seconds=seconds, peak_mib=peak_memory_mib(device))


def matmul_peak_flops(device: torch.device, dtype: torch.dtype, size: int, iters: int = 5) -> float:
    """FLOP/s of a large square matmul in `dtype`: the practical peak the model FLOP/s are compared to."""
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    timing = time_calls(lambda: a @ b, device, warmup=2, iters=iters)
    return 2.0 * size**3 / min(timing.seconds)


def time_interleaved(fns: list[Callable[[], object]], device: torch.device, rounds: int,
                     max_seconds: float | None = None) -> list[Timing]:
    """Time several already warmed-up callables in turns: round r calls each of them once.

    On a machine shared with other jobs the load drifts during a run; taking turns gives every variant
    the same mix of quiet and busy moments, so their ratios stay meaningful. Runs `rounds` rounds; a
    callable that has spent `max_seconds` sits out the remaining rounds (so one slow variant does not cut
    the rounds of the fast ones), after at least one call. The peak memory of each callable is the
    largest over its own calls.
    """
    if rounds < 1 or not fns:
        raise ValueError(f"need rounds >= 1 and at least one callable, got rounds={rounds}, {len(fns)} callables")
    seconds: list[list[float]] = [[] for _ in fns]
    peaks: list[float | None] = [None for _ in fns]
    for _ in range(rounds):
        active = [i for i in range(len(fns)) if max_seconds is None or not seconds[i] or sum(seconds[i]) < max_seconds]
        if not active:
            break
        for index in active:
            reset_peak_memory(device)
            synchronize(device)
            start = time.perf_counter()
            fns[index]()
            synchronize(device)
            seconds[index].append(time.perf_counter() - start)
            peak = peak_memory_mib(device)
            if peak is not None:
                peaks[index] = max(peaks[index] or 0.0, peak)
    return [Timing(seconds=s, peak_mib=p) for s, p in zip(seconds, peaks)]

"""Run one measurement in a child process with a wall-clock limit (used for torch.compile rows).

Compilation can take minutes on a CPU and cannot be interrupted inside the process that started it;
a spawned child can. The child rebuilds its models from the same seed, so weights match the parent's.
"""

from __future__ import annotations

import multiprocessing
import queue as queue_module
import traceback

import torch


def _child(result_queue, kind: str, kwargs: dict) -> None:
    try:
        device = torch.device(kwargs.pop("device"))
        torch.set_num_threads(kwargs.pop("threads"))
        if kind == "train":
            import bench_train
            from configs import CONFIGS

            bench = CONFIGS[kwargs.pop("config")]
            templates = bench_train.build_templates(bench)
            row = bench_train.measure_variant(bench, templates, device=device, **kwargs)
        elif kind == "sample":
            import bench_sampling
            from bench_train import build_templates
            from configs import CONFIGS

            config = kwargs.pop("config")
            generator, _ = build_templates(CONFIGS[config])
            row = bench_sampling.measure_variant(config, generator, device=device, **kwargs)
        else:
            raise ValueError(f"unknown isolated measurement {kind!r}")
        result_queue.put(("ok", row))
    except Exception as error:  # reported as a failed row by the parent
        result_queue.put(("error", f"{type(error).__name__}: {str(error).splitlines()[0][:160] if str(error) else ''}",
                          traceback.format_exc()))


def run_isolated(kind: str, kwargs: dict, timeout_s: float):
    """(row, None) on success, or (None, reason) when the child failed or ran past `timeout_s`."""
    context = multiprocessing.get_context("spawn")
    result_queue = context.Queue()
    process = context.Process(target=_child, args=(result_queue, kind, kwargs), daemon=True)
    process.start()
    try:
        result = result_queue.get(timeout=timeout_s)
    except queue_module.Empty:
        result = None
    process.join(timeout=5)
    if process.is_alive():
        process.kill()
        process.join()
    if result is None:
        return None, f"skipped: not done within the {timeout_s:.0f} s time box"
    if result[0] == "ok":
        return result[1], None
    return None, f"failed: {result[1]}"

"""The prepared GPU run: every figure one NVIDIA GPU should give, in one command, in under 8 minutes.

    bash benchmarks/gpu_run.sh                       # on the GPU machine: writes gpu_run.json / gpu_run.md to $OUT
    python benchmarks/run.py --suite gpu --out DIR   # the same without the wheel step
    python benchmarks/run.py --suite gpu --dry       # the same code on a CPU, small config, about a minute

In this order (cheap first; torch.compile last, time-boxed by what is left of --budget_s):
 1. the device, the library versions and the fp32 / bf16 matmul peak measured in this run;
 2. FLOPs per image of the paper config (128 px, ch 64, attention at 64x64 in G and D);
 3. per attention layer of both nets (query/key head C/8, value head C/2), forward + backward of the
    block, in channels_last (the trainer's layout on CUDA) and in the default layout: which SDPA
    implementation torch dispatched to and which GPU kernels ran, as the heads come and with q/k
    zero-padded to C/2, and every backend forced in turn (a refusal is recorded with torch's reasons);
 4. training img/s of the trainer's own step on its default path in bf16, at batch 64 and 256 per GPU,
    with peak memory, model FLOP/s over the bf16 matmul peak and host syncs per step; the plain fp32
    path at batch 64 for scale;
 5. sampling img/s at 128 px, batch 256: the pipeline's default path in bf16 and fp32, and the plain path;
 6. the training rows again under torch.compile (each in a child process with a time limit).

`--dry` swaps the paper config for the small one, tiny batches, a small matmul and the "eager" compile
backend (dynamo without inductor's C++ build; one compile row instead of two) and runs on the CPU: the
same code path, tested in tests/test_gpu_suite.py. `--no_compile` leaves the compile rows out. The output
format is documented in docs/benchmarks.md ("The GPU run").
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

import bench_attention
import bench_sampling
import bench_train
from configs import CONFIGS
from flops import count_flops, peak_matmul_flops
from results import Row, default_vs_best, device_name, fill_ratios, format_default_check, format_table, versions, write_json


@dataclass(frozen=True)
class SuitePlan:
    """Sizes of one suite run."""

    config: str
    train_batches: tuple[int, ...]
    compile_batches: tuple[int, ...]
    sample_batch: int
    attention_batch: int
    matmul_size: int
    warmup: int
    iters: int
    max_seconds: float  # timed seconds per row at most
    compile_backend: str


GPU_PLAN = SuitePlan("paper", (64, 256), (64, 256), 256, 64, 8192, warmup=5, iters=20, max_seconds=15.0, compile_backend="inductor")
DRY_PLAN = SuitePlan("small", (2, 4), (2,), 4, 2, 256, warmup=1, iters=2, max_seconds=2.0, compile_backend="eager")

# Seconds kept back for writing the results when the compile rows take what is left of the budget.
RESERVE_S = 15.0


class Budget:
    """Wall-clock budget of the whole suite: phases check what is left before they start."""

    def __init__(self, seconds: float):
        self.seconds, self.start = seconds, time.perf_counter()

    def left(self) -> float:
        return self.seconds - (time.perf_counter() - self.start)


def attention_layers(generator, discriminator) -> list[tuple[str, int, int]]:
    """(net, side, channels) of every self-attention layer of the two nets."""
    return [(net, int(side), layer.channels) for net, model in (("G", generator), ("D", discriminator))
            for side, layer in model.attentions.items()]


def probe_attention(plan: SuitePlan, templates, device, budget: Budget, progress) -> list[Row]:
    rows = []
    for net, side, channels in attention_layers(*templates):
        for channels_last in (True, False):  # the trainer's layout on CUDA first, then the default one
            if budget.left() < RESERVE_S:
                return rows
            progress.set_description(f"attention {net} {side}x{side} C{channels}")
            found = bench_attention.measure_side(side, plan.attention_batch, device, plan.warmup, plan.iters,
                                                 interleave=False, channels=channels, probe_backends=True,
                                                 channels_last=channels_last)
            for row in found:
                row.group = f"attention {net} {row.group.removeprefix('attention ')}"
            rows += found
    return rows


def run_rows(suite_args, variants, prepare, kind: str, config: str, batch: int, group: str, device, progress) -> list[Row]:
    """Eager variants here, compile variants in a child process (run.py's machinery)."""
    from run import run_variants, skipped_row

    plan = {"warmup": suite_args.plan.warmup, "iters": suite_args.plan.iters, "max_seconds": suite_args.plan.max_seconds}
    return run_variants(
        suite_args, variants, prepare=prepare, isolated_kind=kind,
        isolated_kwargs=dict(plan=plan, config=config, batch=batch, label=group),
        skipped=lambda v, reason: skipped_row(kind, group, v, device, batch, reason), device=device, progress=progress,
    )


def train_rows(suite_args, bench, templates, batch: int, variants, device, progress) -> list[Row]:
    group = f"train {bench.name} b{batch}"
    return run_rows(suite_args, variants,
                    lambda v, warmup: bench_train.PreparedStep(bench, templates, batch, v, device, warmup),
                    "train", bench.name, batch, group, device, progress)


def sample_rows(suite_args, bench, generator, batch: int, variants, device, progress) -> list[Row]:
    group = f"sample {bench.name} b{batch}"
    return run_rows(suite_args, variants,
                    lambda v, warmup: bench_sampling.PreparedSampler(bench.name, generator, batch, v, device, warmup),
                    "sample", bench.name, batch, group, device, progress)


def headline(rows: list[Row]) -> dict:
    """The figures the issue asks for, picked out of the rows."""
    figures: dict = {"train": {}, "sample": {}, "attention": {}}
    for row in rows:
        if row.section == "train" and row.default:
            figures["train"][f"{row.group} {row.variant}"] = {
                "img_s": row.items_per_second and round(row.items_per_second, 1), "status": row.status,
                "peak_mib": row.peak_mib and round(row.peak_mib), **{k: row.extra.get(k) for k in (
                    "peak_fraction", "model_tflops", "host_syncs", "scalar_reads", "compile_s")}}
        elif row.section == "sample" and row.default:
            figures["sample"][f"{row.group} {row.variant}"] = {
                "img_s": row.items_per_second and round(row.items_per_second, 1), "status": row.status,
                "peak_mib": row.peak_mib and round(row.peak_mib)}
        elif row.section == "attention" and ("forced" in row.variant or row.variant.startswith("fused")):
            figures["attention"].setdefault(row.group, {})[row.variant] = (
                row.extra.get("backend", "-") if row.ok else row.status)
    return figures


def format_headline(figures: dict) -> str:
    lines = []
    for name, values in {**figures["train"], **figures["sample"]}.items():
        shown = ", ".join(f"{k} {v}" for k, v in values.items() if v is not None)
        lines.append(f"- {name}: {shown}")
    for group, backends in figures["attention"].items():
        lines.append(f"- {group}: " + "; ".join(f"{variant} -> {found}" for variant, found in backends.items()))
    return "\n".join(lines)


def run_suite(args) -> dict:
    """Run the suite as `args` (run.py's parsed flags with --suite gpu) says; returns {"run", "rows"}."""
    plan = DRY_PLAN if args.dry else GPU_PLAN
    if args.dry:
        os.environ["ACCELERATE_USE_CPU"] = "1"
    device = torch.device("cpu" if args.dry else "cuda")
    bench = CONFIGS[plan.config]
    budget = Budget(args.budget_s)
    out = Path(args.out or os.environ.get("OUT") or "gpu-results")
    out.mkdir(parents=True, exist_ok=True)
    # run.py's machinery reads these flags: compile rows get what is left of the budget.
    suite_args = argparse.Namespace(plan=plan, interleave=device.type == "cpu", compile_timeout=args.compile_timeout)

    header = {
        "suite": "gpu", "dry": args.dry, "device": device_name(device), "threads": torch.get_num_threads(),
        "versions": versions(), "command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "plan": dataclasses.asdict(plan), "budget_s": args.budget_s,
    }
    if device.type == "cuda":
        header["cudnn"] = torch.backends.cudnn.version()
    print(f"device: {header['device']}\nversions: {json.dumps(header['versions'])}", flush=True)
    progress = tqdm(desc="gpu suite", unit="row")
    rows: list[Row] = []
    notes: list[str] = []

    def phase(name: str, fn):
        """Run one phase; a failure is noted and the suite goes on (the other figures still count)."""
        if budget.left() < RESERVE_S:
            notes.append(f"{name}: skipped, time budget spent")
            return None
        started = time.perf_counter()
        try:
            return fn()
        except Exception as error:  # noqa: BLE001 - record and continue: one broken phase must not lose the run
            notes.append(f"{name}: failed: {type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}")
            return None
        finally:
            header.setdefault("phase_seconds", {})[name] = round(time.perf_counter() - started, 1)

    progress.set_description("matmul peak")
    header["matmul_peak"] = phase("matmul peak", lambda: peak_matmul_flops(device, plan.matmul_size)) or {}
    progress.set_description(f"building {bench.name} models")
    templates = phase("build models", lambda: bench_train.build_templates(bench))
    if templates is None:
        raise RuntimeError(f"could not build the models: {notes}")
    header["flops"] = {bench.name: phase("flops", lambda: count_flops(*templates)) or {}}
    rows += phase("attention", lambda: probe_attention(plan, templates, device, budget, progress)) or []

    eager = [bench_train.DEFAULT_BF16]
    for index, batch in enumerate(plan.train_batches):
        variants = ([bench_train.BASELINE] if index == 0 else []) + eager
        rows += phase(f"train b{batch}", lambda: train_rows(suite_args, bench, templates, batch, variants, device,
                                                            progress)) or []
    sample_variants = [bench_sampling.BASELINE, bench_sampling.DEFAULT, bench_sampling.DEFAULT_BF16]
    rows += phase("sample", lambda: sample_rows(suite_args, bench, templates[0], plan.sample_batch, sample_variants,
                                                device, progress)) or []

    compiled = dataclasses.replace(bench_train.DEFAULT_BF16_COMPILE, compile_backend=plan.compile_backend)
    compile_batches = () if args.no_compile else plan.compile_batches
    header["compile"] = f"backend {plan.compile_backend}, batches {list(compile_batches)}" if compile_batches else "off"
    for index, batch in enumerate(compile_batches):
        remaining_rows = len(compile_batches) - index
        suite_args.compile_timeout = min(args.compile_timeout, (budget.left() - RESERVE_S) / remaining_rows)
        if suite_args.compile_timeout < 10:
            notes.append(f"train b{batch} compile: skipped, time budget spent")
            continue
        rows += phase(f"train b{batch} compile", lambda: train_rows(suite_args, bench, templates, batch, [compiled],
                                                                    device, progress)) or []
    progress.close()

    fill_ratios(rows)
    from run import add_model_flops

    add_model_flops(rows, header["flops"], header["matmul_peak"])
    header["headline"] = headline(rows)
    header["default_check"] = default_vs_best(rows)
    header["notes"] = notes
    header["wall_seconds"] = round(budget.seconds - budget.left(), 1)
    write_json(str(out / "gpu_run.json"), header, rows)
    markdown = format_markdown(header, rows)
    (out / "gpu_run.md").write_text(markdown, encoding="utf-8")
    print("\n" + markdown)
    print(f"wrote {out / 'gpu_run.json'} and {out / 'gpu_run.md'}")
    return {"run": header, "rows": rows}


def format_markdown(header: dict, rows: list[Row]) -> str:
    """The section for docs/benchmarks.md: machine, peaks, FLOPs, the headline figures and every row."""
    title = "GPU run (dry: CPU, small config)" if header["dry"] else "GPU run"
    peak = header.get("matmul_peak") or {}
    lines = [
        f"### {title}: {header['device']}, {header['date']}", "",
        f"torch {header['versions'].get('torch')}, CUDA {header['versions'].get('cuda', '-')}, "
        f"cuDNN {header.get('cudnn', '-')}; {header['wall_seconds']} s; "
        f"matmul peak fp32 {peak.get('fp32_matmul_tflops', 0):.4g} / bf16 {peak.get('bf16_matmul_tflops', 0):.4g} TFLOP/s.",
    ]
    for name, count in header["flops"].items():
        lines.append(f"FLOPs per image ({name}): " + ", ".join(f"{k} {v:.4g}" for k, v in count.items()) + ".")
    lines += ["", "Headline figures:", "", format_headline(header["headline"]), "", format_table(rows)]
    if header["default_check"]:
        lines += ["", format_default_check(header["default_check"])]
    if header["notes"]:
        lines += ["", "Notes: " + "; ".join(header["notes"])]
    return "\n".join(lines) + "\n"

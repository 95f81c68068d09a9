"""SAGAN speed benchmark: one command, one table (and optionally a JSON file).

    python benchmarks/run.py --quick                       # < 1 min on 2 idle CPU cores: small config only
    python benchmarks/run.py                               # CPU: small + paper configs
    python benchmarks/run.py --device cuda --configs paper --batch_sizes 64,256 --json gpu.json
    python benchmarks/run.py --suite gpu                   # the prepared GPU run (gpu_suite.py, gpu_run.sh)

Sections: flops (G/D/iteration FLOPs per image, matmul peak), train (the trainer's SAGANTrainStep per
speed option), sample (SAGANPipeline per option), attention (one block, forward + backward), data
(JPEG decode to 128 px). In every group the baseline row is the plain path (eager fp32, explicit
attention, no channels_last, no compile; for sampling also spectral norm recomputed per weight read),
the "default path" rows are what a user gets without asking (the trainer's, the pipeline's and the
stream's defaults), and each row shows its speed-up over the baseline, measured in the same run; a last
table compares each default path with the fastest row of its group in the same dtype. See
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
from diffusers.utils import logging as diffusers_logging
from tqdm.auto import tqdm

from sagan_hf.training.assembly import cpu_has_native_bf16

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling modules, when run as a script

import bench_attention  # noqa: E402
import bench_data  # noqa: E402
import bench_sampling  # noqa: E402
import bench_train  # noqa: E402
from configs import DEFAULT_SAMPLE_BATCH, DEFAULT_TRAIN_BATCH, parse_configs  # noqa: E402
from flops import count_flops, peak_matmul_flops  # noqa: E402
from isolated import run_isolated  # noqa: E402
from measure import time_calls, time_interleaved  # noqa: E402
from results import (  # noqa: E402
    Row, default_vs_best, device_name, fill_ratios, format_default_check, format_table, versions, write_json,
)

SECTIONS = ("flops", "train", "sample", "attention", "data")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="few iterations, no compile, small config only by default")
    parser.add_argument("--suite", choices=("default", "gpu"), default="default",
                        help="'gpu': the prepared GPU run (gpu_suite.py; it takes --dry, --out, --budget_s, "
                             "--compile_timeout and --no_compile and ignores the other options)")
    parser.add_argument("--dry", action="store_true", help="--suite gpu on the CPU with the small config (a test run)")
    parser.add_argument("--out", help="--suite gpu: folder for gpu_run.json and gpu_run.md (default $OUT or gpu-results)")
    parser.add_argument("--budget_s", type=float, default=450.0,
                        help="--suite gpu: wall-clock budget; the compile rows get what the eager ones leave")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument("--configs", help="comma list of small,paper (default: small with --quick, else both)")
    parser.add_argument("--batch_sizes", help="comma list of training batch sizes per process (default per device)")
    parser.add_argument("--sample_batch", type=int, help="images per pipeline call (default per device and config)")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma list of {', '.join(SECTIONS)}")
    parser.add_argument("--compile_timeout", type=float, default=300.0,
                        help="seconds allowed for each torch.compile row (build + timing) before it is skipped")
    parser.add_argument("--no_compile", action="store_true", help="skip the torch.compile rows")
    parser.add_argument("--compile_on_cpu", action="store_true",
                        help="also run the torch.compile rows on a CPU (off by default: minutes per row on 2 cores)")
    parser.add_argument("--only", help="comma list of substrings: run only the train/sample variants whose name has one")
    parser.add_argument("--interleave", action=argparse.BooleanOptionalAction, default=None,
                        help="time the eager variants of a group in turns (default: on for CPU, off for CUDA)")
    parser.add_argument("--rounds", type=int, help="timed calls (rounds, when interleaved) per variant (default per device)")
    parser.add_argument("--max_seconds", type=float, help="timed seconds per variant after which it stops (default per device)")
    parser.add_argument("--threads", type=int,
                        help="torch.set_num_threads(N) first (on a CPU shared with other jobs, 1 avoids spin-waiting)")
    args = parser.parse_args(argv)
    args.sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    bad = [s for s in args.sections if s not in SECTIONS]
    if bad:
        parser.error(f"--sections: unknown {bad}; choose from {SECTIONS}")
    if args.suite == "gpu":
        if not args.dry and not torch.cuda.is_available():
            parser.error("--suite gpu needs a CUDA device (this torch sees none); --dry runs it on the CPU")
        return args
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: this torch sees no CUDA device")
    args.configs = parse_configs(args.configs or ("small" if args.quick else "small,paper"))
    if args.batch_sizes:
        try:
            args.batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
        except ValueError:
            parser.error(f"--batch_sizes must be a comma list of integers, got {args.batch_sizes!r}")
        if min(args.batch_sizes) < 1:
            parser.error("--batch_sizes must be positive")
    if args.quick or (args.device == "cpu" and not args.compile_on_cpu):
        args.no_compile = True
    if args.interleave is None:
        args.interleave = args.device == "cpu"
    args.only = [part.strip() for part in args.only.split(",") if part.strip()] if args.only else None
    return args


def selected(args, variant) -> bool:
    """Whether --only / --no_compile let this variant run (baselines always run: ratios need them)."""
    if variant.compile and args.no_compile:
        return False
    return args.only is None or variant.baseline or any(part in variant.name for part in args.only)


def iteration_plan(args, config_name: str) -> dict:
    """Warm-up calls, timed calls and a time cap per row, by device, mode and model size (--rounds and
    --max_seconds override the last two)."""
    if args.device == "cuda":
        plan = {"warmup": 5, "iters": 20, "max_seconds": 60.0}
    elif args.quick:
        plan = {"warmup": 1, "iters": 3, "max_seconds": 4.0}
    elif config_name == "paper":
        plan = {"warmup": 1, "iters": 3, "max_seconds": 30.0}
    else:
        plan = {"warmup": 2, "iters": 10, "max_seconds": 15.0}
    if args.rounds:
        plan["iters"] = args.rounds
    if args.max_seconds:
        plan["max_seconds"] = args.max_seconds
    return plan


def train_variants(args, config_name: str) -> list:
    variants = bench_train.VARIANTS
    if args.device == "cpu" and (args.quick or config_name == "paper"):
        # On 2 cores one 128 px iteration takes seconds: the baseline, the defaults and the main options only.
        keep = {bench_train.BASELINE.name, "fused attention", "explicit + channels_last", bench_train.DEFAULT.name,
                bench_train.DEFAULT_BF16.name}
        if config_name != "paper":
            keep |= {"fused + channels_last", "fused + bf16 + channels_last"}
        variants = [v for v in variants if v.name in keep or (v.compile and config_name != "paper")]
    if args.device == "cpu" and config_name == "paper" and not cpu_has_native_bf16():
        # Emulated bf16 takes minutes per 128 px iteration on such a CPU (about 8x fp32 at 32 px).
        variants = [v for v in variants if v.mixed_precision != "bf16"]
    return variants


def sample_variants(args, config_name: str) -> list:
    variants = bench_sampling.VARIANTS
    if args.device == "cpu" and config_name == "paper" and not cpu_has_native_bf16():
        # Emulated bf16 in the default layout takes minutes per 128 px call on such a CPU (channels_last: 18 s).
        variants = [v for v in variants if v.dtype != torch.bfloat16 or v.default]
    return variants


def skipped_row(section: str, group: str, variant, device, batch: int, reason: str, dtype: str = "-") -> Row:
    return Row(section=section, group=group, variant=variant.name, device=str(device), dtype=dtype, batch=batch,
               threads=torch.get_num_threads(), status=reason)


def run_variants(args, variants, prepare, isolated_kind: str, isolated_kwargs, skipped, device, progress) -> list[Row]:
    """Measure eager variants (interleaved or one after another) and compile variants in a child process."""
    plan = isolated_kwargs["plan"]
    rows: dict[int, Row] = {}
    prepared = []
    for index, variant in enumerate(variants):
        progress.set_description(f"{isolated_kwargs['label']}: {variant.name}")
        if variant.compile:
            kwargs = dict(config=isolated_kwargs["config"], batch=isolated_kwargs["batch"], variant=variant,
                          device=str(device), warmup=min(plan["warmup"], 3), iters=plan["iters"],
                          max_seconds=plan["max_seconds"], threads=torch.get_num_threads())
            row, reason = run_isolated(isolated_kind, kwargs, args.compile_timeout)
            rows[index] = row or skipped(variant, reason)
        else:
            try:
                item = prepare(variant, plan["warmup"])
                if args.interleave:
                    prepared.append((index, item))
                else:
                    rows[index] = item.row(time_calls(item, device, warmup=0, iters=plan["iters"],
                                                      max_seconds=plan["max_seconds"]))
            except RuntimeError as error:  # e.g. CUDA out of memory at a large batch: record it, go on
                rows[index] = skipped(variant, f"failed: {type(error).__name__}: {str(error).splitlines()[0][:100]}")
            item = None
            free_memory(device)
        progress.update(1)
    if prepared:
        progress.set_description(f"{isolated_kwargs['label']}: {len(prepared)} variants in turns")
        timings = time_interleaved([item for _, item in prepared], device, rounds=plan["iters"],
                                   max_seconds=plan["max_seconds"])
        for (index, item), timing in zip(prepared, timings):
            rows[index] = item.row(timing)
    return [rows[index] for index in sorted(rows)]


def free_memory(device: torch.device) -> None:
    """Collect what the last variant left (accelerate keeps reference cycles) and return CUDA's cache."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def run_train(args, bench, templates, device, progress) -> list[Row]:
    rows = []
    plan = iteration_plan(args, bench.name)
    for batch in args.batch_sizes or DEFAULT_TRAIN_BATCH[(bench.name, args.device)]:
        group = f"train {bench.name} b{batch}"
        variants = [v for v in train_variants(args, bench.name) if selected(args, v)]
        rows += run_variants(
            args, variants,
            prepare=lambda v, warmup: bench_train.PreparedStep(bench, templates, batch, v, device, warmup),
            isolated_kind="train", isolated_kwargs=dict(plan=plan, config=bench.name, batch=batch, label=group),
            skipped=lambda v, reason: skipped_row("train", group, v, device, batch, reason), device=device,
            progress=progress,
        )
    return rows


def run_sample(args, bench, generator, device, progress) -> list[Row]:
    plan = iteration_plan(args, bench.name)
    batch = args.sample_batch or DEFAULT_SAMPLE_BATCH[(bench.name, args.device)]
    group = f"sample {bench.name} b{batch}"
    variants = [
        v for v in sample_variants(args, bench.name)
        if selected(args, v) and not (v.compile and args.device == "cpu" and bench.name == "paper")
    ]
    return run_variants(
        args, variants,
        prepare=lambda v, warmup: bench_sampling.PreparedSampler(bench.name, generator, batch, v, device, warmup),
        isolated_kind="sample", isolated_kwargs=dict(plan=plan, config=bench.name, batch=batch, label=group),
        skipped=lambda v, reason: skipped_row("sample", group, v, device, batch, reason), device=device,
        progress=progress,
    )


def run_attention(args, device, progress) -> list[Row]:
    rows = []
    batch = 64 if args.device == "cuda" else (2 if args.quick else 4)
    warmup, rounds = (5, 20) if args.device == "cuda" else ((1, 2) if args.quick else (2, 6))
    rounds = args.rounds or rounds
    for side in (32, 64):
        progress.set_description(f"attention {side}x{side}")
        rows += bench_attention.measure_side(side, batch, device, warmup, rounds, args.interleave)
        progress.update(1)
    return rows


def add_model_flops(rows: list[Row], counts: dict[str, dict], peaks: dict) -> None:
    """Model TFLOP/s of train and sample rows (from the FLOP counts) and their fraction of the bf16 peak."""
    for row in rows:
        if not row.ok or row.section not in ("train", "sample"):
            continue
        config = row.group.split()[1]
        if config not in counts:
            continue
        per_image = counts[config]["train_iteration_convention_gflop" if row.section == "train" else "g_forward_gflop"]
        tflops = row.items_per_second * per_image / 1e3
        row.extra["model_tflops"] = round(tflops, 4)
        if peaks.get("bf16_matmul_tflops"):
            row.extra["peak_fraction"] = round(tflops / peaks["bf16_matmul_tflops"], 4)


def _load_average() -> float | None:
    """The 1-minute load average: on a shared CPU, how many other jobs competed with the benchmark."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def main(argv=None) -> dict:
    args = parse_args(argv)
    diffusers_logging.set_verbosity_error()  # the "cast with to()" notice of the bf16 rows is expected here
    if args.suite == "gpu":
        import gpu_suite

        return gpu_suite.run_suite(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.device == "cpu":
        os.environ["ACCELERATE_USE_CPU"] = "1"  # the trainer's Accelerator would otherwise take a visible GPU
    started = time.perf_counter()
    header = {
        "device": device_name(device), "threads": torch.get_num_threads(), "versions": versions(),
        "quick": args.quick, "command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "load_average_at_start": _load_average(),
    }
    print(f"device: {header['device']}\nversions: {json.dumps(header['versions'])}", flush=True)
    load = header["load_average_at_start"]
    if args.device == "cpu" and torch.get_num_threads() > 1 and load is not None and load > 1.0:
        print(f"note: load average {load} (other jobs running); threads spin-wait for each other on a busy "
              "CPU and timings swing widely: consider --threads 1", flush=True)
    rows: list[Row] = []
    counts: dict[str, dict] = {}
    peaks: dict = {}
    progress = tqdm(desc="benchmark", unit="row")
    if "flops" in args.sections:
        progress.set_description("matmul peak")
        peaks = peak_matmul_flops(device)
    for bench in args.configs:
        if not {"flops", "train", "sample"} & set(args.sections):
            break
        progress.set_description(f"building {bench.name} models")
        templates = bench_train.build_templates(bench)
        if "flops" in args.sections:
            counts[bench.name] = count_flops(*templates)
        if "train" in args.sections:
            rows += run_train(args, bench, templates, device, progress)
        if "sample" in args.sections:
            rows += run_sample(args, bench, templates[0], device, progress)
        del templates
    if "attention" in args.sections:
        rows += run_attention(args, device, progress)
    if "data" in args.sections:
        progress.set_description("data: writing shards")
        with tempfile.TemporaryDirectory(prefix="sagan_bench_data_") as folder:
            rows += bench_data.measure(
                Path(folder), num_images=64 if args.quick else 320, resolution=128, batch=32,
                worker_counts=[] if args.quick else [2],
            )
    progress.close()
    fill_ratios(rows)
    add_model_flops(rows, counts, peaks)
    header["flops"] = counts
    header["matmul_peak"] = peaks
    header["wall_seconds"] = round(time.perf_counter() - started, 1)
    header["load_average_at_end"] = _load_average()

    print()
    if peaks:
        print("matmul peak: " + ", ".join(f"{k} {v:.4g}" for k, v in peaks.items()))
    for name, count in counts.items():
        print(f"FLOPs per image, {name}: " + ", ".join(f"{k} {v:.4g}" for k, v in count.items()))
    print(format_table(rows))
    header["default_check"] = default_vs_best(rows)
    if header["default_check"]:
        print("\nDefault paths against the fastest eager row of the same dtype in their group:")
        print(format_default_check(header["default_check"]))
    print(f"\n{len(rows)} rows in {header['wall_seconds']} s; load average (1 min) at start "
          f"{header['load_average_at_start']}, at end {header['load_average_at_end']}")
    if args.json:
        write_json(args.json, header, rows)
        print(f"wrote {args.json}")
    return {"run": header, "rows": rows}


if __name__ == "__main__":
    main()

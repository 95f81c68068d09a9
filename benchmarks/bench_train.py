"""Training-step benchmark: the trainer's own SAGANTrainStep (D step + G step + EMA) per speed option.

The step is built the way `sagan_hf.training.trainer.train` builds it (its Accelerator, models,
optimisers, EMA and `accelerator.prepare`), from template models built once per config and deep-copied
for each variant, so every variant starts from the same weights. Real batches are synthetic tensors
already in memory: the data pipeline is measured on its own (bench_data).
"""

from __future__ import annotations

import copy
import itertools
import tempfile
import time
import warnings
from dataclasses import dataclass

import torch
from accelerate.state import AcceleratorState, GradientState

from sagan_hf.training.assembly import assemble_training
from sagan_hf.training.trainer import build_models, make_accelerator

from configs import BenchConfig
from measure import Timing, time_calls
from results import Row


@dataclass(frozen=True)
class TrainVariant:
    """One combination of speed options; explicit attention + fp32 + nothing else is the baseline.

    `attention` and `channels_last` left at None take the trainer's defaults (`attention_implementation=
    "auto"`, `channels_last=True`): such a variant is a "default path" row.
    """

    name: str
    attention: str | None = "fused"
    mixed_precision: str = "no"
    channels_last: bool | None = False
    compile: bool = False
    compile_backend: str = "inductor"

    @property
    def baseline(self) -> bool:
        return self == BASELINE

    @property
    def default(self) -> bool:
        return self.attention is None and self.channels_last is None

    def speed_settings(self) -> dict:
        """The TrainConfig fields this variant sets (the others keep the trainer's defaults)."""
        settings = {"mixed_precision": self.mixed_precision, "compile": self.compile,
                    "compile_backend": self.compile_backend}
        if self.attention is not None:
            settings["attention_implementation"] = self.attention
        if self.channels_last is not None:
            settings["channels_last"] = self.channels_last
        return settings


BASELINE = TrainVariant("eager fp32, explicit attention", attention="explicit")
DEFAULT = TrainVariant("default path", attention=None, channels_last=None)
DEFAULT_BF16 = TrainVariant("default path, bf16", attention=None, channels_last=None, mixed_precision="bf16")
DEFAULT_BF16_COMPILE = TrainVariant("default path, bf16 + compile", attention=None, channels_last=None,
                                    mixed_precision="bf16", compile=True)
VARIANTS = [
    BASELINE,
    TrainVariant("fused attention"),
    TrainVariant("explicit + channels_last", attention="explicit", channels_last=True),
    TrainVariant("fused + channels_last", channels_last=True),
    DEFAULT,
    TrainVariant("fused + bf16 autocast", mixed_precision="bf16"),
    TrainVariant("explicit + bf16 + channels_last", attention="explicit", mixed_precision="bf16", channels_last=True),
    TrainVariant("fused + bf16 + channels_last", mixed_precision="bf16", channels_last=True),
    DEFAULT_BF16,
    TrainVariant("fused + compile", compile=True),
    TrainVariant("fused + bf16 + channels_last + compile", mixed_precision="bf16", channels_last=True, compile=True),
    DEFAULT_BF16_COMPILE,
]


def build_templates(bench: BenchConfig):
    """The trainer's fresh G and D for this config (built once: the 128 px nets take seconds to build)."""
    torch.manual_seed(0)
    config = bench.train_config(1, tempfile.gettempdir())
    return build_models(config, bench.num_classes)


def build_train_step(bench: BenchConfig, templates, batch: int, variant: TrainVariant, output_dir: str):
    """The trainer's PreparedTraining for `variant`, assembled as in trainer.train; returns it and the accelerator."""
    # Each variant gets its own mixed precision. Steps built before stay usable: accelerate bakes
    # autocast into each prepared model's forward.
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
    config = bench.train_config(batch, output_dir, **variant.speed_settings())
    accelerator = make_accelerator(config)
    generator, discriminator = (copy.deepcopy(model) for model in templates)
    prepared = assemble_training(accelerator, config, generator, discriminator, bench.num_classes)
    return prepared, accelerator


def synthetic_batch(bench: BenchConfig, resolution: int, batch: int, device: torch.device) -> dict:
    """A real-image batch as the data stream gives it: float32 in [-1, 1] and int64 labels, on the device."""
    generator = torch.Generator().manual_seed(1)
    pixels = torch.rand(batch, 3, resolution, resolution, generator=generator) * 2 - 1
    labels = torch.randint(0, bench.num_classes, (batch,), generator=generator)
    return {"pixel_values": pixels.to(device), "class_labels": labels.to(device)}


class PreparedStep:
    """A built and warmed-up training step of one variant, callable once per iteration."""

    def __init__(self, bench: BenchConfig, templates, batch: int, variant: TrainVariant, device: torch.device,
                 warmup: int):
        self.bench, self.batch, self.variant, self.device = bench, batch, variant, device
        self._folder = tempfile.TemporaryDirectory(prefix="sagan_bench_")
        prepared, accelerator = build_train_step(bench, templates, batch, variant, self._folder.name)
        self.step, self.attention = prepared.step, prepared.attention_implementation
        if accelerator.device.type != device.type:
            raise RuntimeError(f"the Accelerator chose {accelerator.device}, the benchmark asked for {device}")
        self.real = synthetic_batch(bench, templates[0].config.sample_size, batch, device)
        self._counter = itertools.count(1)
        self.metrics: dict = {}
        start = time.perf_counter()
        for _ in range(warmup):
            self()
        synchronize_if_cuda(device)
        self.warmup_s = time.perf_counter() - start

    def __call__(self) -> None:
        self.metrics = self.step([self.real], next(self._counter))

    def row(self, timing: Timing) -> Row:
        """The table row of this variant from its timing; frees the step."""
        syncs = count_host_syncs(self, self.device, compiled=self.variant.compile)
        losses = {k: float(self.metrics[k]) for k in ("d_loss", "g_loss")}
        finite = all(torch.isfinite(torch.tensor(v)) for v in losses.values())
        extra = {"attention": self.attention, "warmup_s": round(self.warmup_s, 2),
                 "losses": {k: round(v, 4) for k, v in losses.items()}, **syncs}
        if self.variant.compile:
            extra["compile_s"] = round(self.warmup_s, 1)
        self.step = None
        self._folder.cleanup()
        return Row(
            section="train", group=f"train {self.bench.name} b{self.batch}", variant=self.variant.name,
            device=str(self.device), dtype="bf16 autocast" if self.variant.mixed_precision == "bf16" else "fp32",
            batch=self.batch, threads=torch.get_num_threads(), iters=len(timing.seconds),
            seconds_per_iter=timing.median, items_per_second=self.batch / timing.median, peak_mib=timing.peak_mib,
            baseline=self.variant.baseline, default=self.variant.default,
            status="ok" if finite else "failed: non-finite loss", extra=extra | timing.spread(),
        )


def measure_variant(bench: BenchConfig, templates, batch: int, variant: TrainVariant, device: torch.device,
                    warmup: int, iters: int, max_seconds: float | None) -> Row:
    """Build, warm up and time one variant on its own (warm-up, so compilation, is reported as `warmup_s`)."""
    prepared = PreparedStep(bench, templates, batch, variant, device, warmup)
    timing = time_calls(prepared, device, warmup=0, iters=iters, max_seconds=max_seconds)
    return prepared.row(timing)


def synchronize_if_cuda(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def count_host_syncs(fn, device: torch.device, compiled: bool = False) -> dict:
    """How often one call of `fn` made the host wait for the device.

    `scalar_reads` (eager only, any device): the operations the step itself asks for that copy a device
    value into Python (`aten::_local_scalar_dense`, behind .item(), bool(), int(); `aten::nonzero`, whose
    output size the host must know), counted by a dispatch mode. Not for compiled steps: an active
    dispatch mode would make dynamo compile again. On CUDA also `host_syncs`: every synchronisation torch's
    sync debug mode reports (kernels' internal ones too; it warns once per synchronising call).
    """
    found = {}
    if not compiled:
        from torch.utils._python_dispatch import TorchDispatchMode

        reads = [0]

        class CountScalarReads(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                reads[0] += func.overloadpacket.__name__ in ("_local_scalar_dense", "nonzero")
                return func(*args, **(kwargs or {}))

        with CountScalarReads():
            fn()
        found["scalar_reads"] = reads[0]
    if device.type == "cuda":
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                fn()
            finally:
                torch.cuda.set_sync_debug_mode("default")
        found["host_syncs"] = sum("synchroniz" in str(w.message).lower() for w in caught)
    return found

"""Sampling benchmark: images/s of SAGANPipeline.__call__ per speed option.

The baseline is the plain path: explicit attention in fp32, default memory layout, and the pipeline's
fast path switched off (`pipe.cache_spectral_norm = False`), so that every spectral-norm weight is
recomputed each time a layer reads it. The "default path" rows are the pipeline as a user gets it (no
knob touched): spectral norm folded into stored eval-mode weights, channels_last by device.
"""

from __future__ import annotations

import copy
import gc
import time
from dataclasses import dataclass

import torch

from sagan_hf.models import set_attention_implementation
from sagan_hf.models.modeling_sagan import fold_spectral_norm
from sagan_hf.pipelines.pipeline_sagan import SAGANPipeline

from measure import Timing, time_calls
from results import Row


@dataclass(frozen=True)
class SampleVariant:
    """How the pipeline samples. `sn`: "recomputed" (every read), "folded" (the pipeline's stored eval-mode
    weights, parametrisations kept) or "removed" (`fold_spectral_norm`: plain weights, a sampling-only
    copy). `channels_last=None` leaves the layout to the pipeline (by device): with `sn="folded"` and the
    model's own attention that is the default path."""

    name: str
    attention: str = "fused"
    sn: str = "folded"
    dtype: torch.dtype = torch.float32
    channels_last: bool | None = False
    compile: bool = False
    compile_backend: str = "inductor"

    @property
    def baseline(self) -> bool:
        return self == BASELINE

    @property
    def default(self) -> bool:
        return self.channels_last is None


BASELINE = SampleVariant("explicit attention, SN recomputed per read", attention="explicit", sn="recomputed")
DEFAULT = SampleVariant("default path", channels_last=None)
DEFAULT_BF16 = SampleVariant("default path, bf16 weights", channels_last=None, dtype=torch.bfloat16)
VARIANTS = [
    BASELINE,
    SampleVariant("fused attention, SN recomputed per read", sn="recomputed"),
    SampleVariant("fused, SN folded (stored), contiguous"),
    SampleVariant("fused, SN removed (fold_spectral_norm)", sn="removed"),
    SampleVariant("fused, SN removed, channels_last", sn="removed", channels_last=True),
    SampleVariant("explicit, SN folded, channels_last", attention="explicit", channels_last=True),
    DEFAULT,
    SampleVariant("fused, SN removed, bf16 weights", sn="removed", dtype=torch.bfloat16),
    DEFAULT_BF16,
    SampleVariant("fused, SN removed, compile", sn="removed", compile=True),
    SampleVariant("fused, SN removed, bf16, compile", sn="removed", dtype=torch.bfloat16, compile=True),
]


def build_pipeline(template_generator, variant: SampleVariant, device: torch.device) -> SAGANPipeline:
    """A pipeline around an eval-mode copy of the generator (as from_pretrained gives it), set up as `variant` says."""
    generator = copy.deepcopy(template_generator).eval()
    if not variant.default:
        set_attention_implementation(generator, variant.attention)
    if variant.sn == "removed":
        fold_spectral_norm(generator)
    generator.to(device=device, dtype=variant.dtype)
    if variant.channels_last and variant.sn != "folded":  # folded: the pipeline stores channels_last weights
        generator.to(memory_format=torch.channels_last)
    if variant.compile:
        generator.compile(backend=variant.compile_backend)
    pipe = SAGANPipeline(generator=generator)
    if not variant.default:
        pipe.cache_spectral_norm = variant.sn != "recomputed"
        pipe.channels_last = bool(variant.channels_last)
    return pipe


class PreparedSampler:
    """A pipeline set up for one variant and warmed up; each call samples one batch."""

    def __init__(self, config_name: str, template_generator, batch: int, variant: SampleVariant,
                 device: torch.device, warmup: int):
        self.config_name, self.batch, self.variant, self.device = config_name, batch, variant, device
        self.pipe = build_pipeline(template_generator, variant, device)
        self.seed = torch.Generator().manual_seed(0)
        start = time.perf_counter()
        for _ in range(warmup):
            self()
        self.warmup_s = time.perf_counter() - start

    def __call__(self) -> None:
        self.pipe(batch_size=self.batch, generator=self.seed, output_type="pt")

    def row(self, timing: Timing) -> Row:
        """The table row of this variant; frees the pipeline."""
        self.pipe = None
        gc.collect()
        extra = {"warmup_s": round(self.warmup_s, 2)}
        if self.variant.compile:
            extra["compile_s"] = round(self.warmup_s, 1)
        return Row(
            section="sample", group=f"sample {self.config_name} b{self.batch}", variant=self.variant.name,
            device=str(self.device), dtype=str(self.variant.dtype).replace("torch.", ""), batch=self.batch,
            threads=torch.get_num_threads(), iters=len(timing.seconds), seconds_per_iter=timing.median,
            items_per_second=self.batch / timing.median, peak_mib=timing.peak_mib, baseline=self.variant.baseline,
            default=self.variant.default, extra=extra | timing.spread(),
        )


def measure_variant(config_name: str, template_generator, batch: int, variant: SampleVariant,
                    device: torch.device, warmup: int, iters: int, max_seconds: float | None) -> Row:
    """Set up, warm up and time one variant on its own."""
    prepared = PreparedSampler(config_name, template_generator, batch, variant, device, warmup)
    timing = time_calls(prepared, device, warmup=0, iters=iters, max_seconds=max_seconds)
    return prepared.row(timing)

"""Sampling benchmark: images/s of SAGANPipeline.__call__ per speed option.

The baseline is the pipeline with the explicit attention path in fp32 and its
`parametrize.cached()` context replaced by a no-op, so that every spectral-norm weight is recomputed
each time a layer reads it (the plain path of a model with parametrised weights).
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
    name: str
    attention: str = "fused"
    sn: str = "cached"  # "recomputed" (no cache), "cached" (the pipeline's way) or "folded"
    dtype: torch.dtype = torch.float32
    channels_last: bool = False
    compile: bool = False

    @property
    def baseline(self) -> bool:
        return self == BASELINE


BASELINE = SampleVariant("explicit attention, SN recomputed per read", attention="explicit", sn="recomputed")
VARIANTS = [
    BASELINE,
    SampleVariant("explicit attention, SN cached per call", attention="explicit"),
    SampleVariant("fused attention, SN cached (pipeline default)"),
    SampleVariant("fused, SN folded", sn="folded"),
    SampleVariant("fused, SN folded, channels_last", sn="folded", channels_last=True),
    SampleVariant("fused, SN folded, bf16 weights", sn="folded", dtype=torch.bfloat16),
    SampleVariant("fused, SN folded, compile", sn="folded", compile=True),
    SampleVariant("fused, SN folded, bf16, compile", sn="folded", dtype=torch.bfloat16, compile=True),
]


def build_pipeline(template_generator, variant: SampleVariant, device: torch.device) -> SAGANPipeline:
    """A pipeline around a copy of the generator, set up as `variant` says."""
    generator = copy.deepcopy(template_generator).eval()
    set_attention_implementation(generator, variant.attention)
    if variant.sn == "folded":
        fold_spectral_norm(generator)
    generator.to(device=device, dtype=variant.dtype)
    if variant.channels_last:
        generator.to(memory_format=torch.channels_last)
    if variant.compile:
        generator.compile()
    pipe = SAGANPipeline(generator=generator)
    pipe.cache_spectral_norm = variant.sn != "recomputed"
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
            extra=extra,
        )


def measure_variant(config_name: str, template_generator, batch: int, variant: SampleVariant,
                    device: torch.device, warmup: int, iters: int, max_seconds: float | None) -> Row:
    """Set up, warm up and time one variant on its own."""
    prepared = PreparedSampler(config_name, template_generator, batch, variant, device, warmup)
    timing = time_calls(prepared, device, warmup=0, iters=iters, max_seconds=max_seconds)
    return prepared.row(timing)

"""Sampling benchmark: images/s of SAGANPipeline.__call__ per speed option.

The baseline is the pipeline with the explicit attention path in fp32 and its
`parametrize.cached()` context replaced by a no-op, so that every spectral-norm weight is recomputed
each time a layer reads it (the plain path of a model with parametrised weights).
"""

from __future__ import annotations

import contextlib
import copy
import gc
import time
import types
from dataclasses import dataclass

import torch

from sagan_hf.models import set_attention_implementation
from sagan_hf.models.inference import fold_spectral_norm
from sagan_hf.pipelines import pipeline_sagan
from sagan_hf.pipelines.pipeline_sagan import SAGANPipeline

from measure import time_calls
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


@contextlib.contextmanager
def spectral_norm_cache_disabled():
    """Run the pipeline with its `parametrize.cached()` turned into a no-op (the baseline only)."""
    original = pipeline_sagan.parametrize
    pipeline_sagan.parametrize = types.SimpleNamespace(cached=contextlib.nullcontext)
    try:
        yield
    finally:
        pipeline_sagan.parametrize = original


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
    return SAGANPipeline(generator=generator)


def measure_variant(config_name: str, template_generator, batch: int, variant: SampleVariant,
                    device: torch.device, warmup: int, iters: int, max_seconds: float | None) -> Row:
    pipe = build_pipeline(template_generator, variant, device)
    seed = torch.Generator().manual_seed(0)

    def one_call():
        pipe(batch_size=batch, generator=seed, output_type="pt")

    guard = spectral_norm_cache_disabled() if variant.sn == "recomputed" else contextlib.nullcontext()
    with guard:
        start = time.perf_counter()
        for _ in range(warmup):
            one_call()
        warmup_s = time.perf_counter() - start
        timing = time_calls(one_call, device, warmup=0, iters=iters, max_seconds=max_seconds)
    del pipe
    gc.collect()
    return Row(
        section="sample", group=f"sample {config_name} b{batch}", variant=variant.name, device=str(device),
        dtype=str(variant.dtype).replace("torch.", ""), batch=batch, threads=torch.get_num_threads(),
        iters=len(timing.seconds), seconds_per_iter=timing.median, items_per_second=batch / timing.median,
        peak_mib=timing.peak_mib, baseline=variant.baseline,
        extra={"warmup_s": round(warmup_s, 2), **({"compile_s": round(warmup_s, 1)} if variant.compile else {})},
    )

"""Attention-block benchmark: one SelfAttention2d, forward + backward, per attention path.

Paths: the explicit softmax(q k^T) v (baseline: it builds the N x N/4 map), the fused
`scaled_dot_product_attention` the model uses by default, and the fused call with query and key
zero-padded to the value's head size (same scores, q.k is unchanged by zero entries; equal head
sizes may let a faster kernel run). On CUDA each SDPA backend is also forced in turn to show which
ones accept these shapes and what each costs.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from sagan_hf.models import SelfAttention2d

from measure import Timing, time_calls, time_interleaved
from results import Row

# The paper generator's widths at these map sizes (G: 256 ch at 32x32, 128 ch at 64x64).
PAPER_CHANNELS = {32: 256, 64: 128}


def padded_fused_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """SDPA (scale 1) with query and key zero-padded on the feature axis to the value's size."""
    extra = value.shape[-1] - query.shape[-1]
    if extra > 0:
        query, key = F.pad(query, (0, extra)), F.pad(key, (0, extra))
    return F.scaled_dot_product_attention(query, key, value, scale=1.0)


def attention_block_forward(block: SelfAttention2d, x: torch.Tensor, path: str) -> torch.Tensor:
    """The block's output through `path` ("explicit", "fused" or "fused_padded")."""
    if path in ("explicit", "fused"):
        block.implementation = path
        return block(x)
    batch, _, height, width = x.shape
    query, key, value = block._project(x)
    attended = padded_fused_attention(query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)).squeeze(1)
    attended = attended.transpose(1, 2).reshape(batch, block.channels // 2, height, width)
    return x + block.gamma * block.out(attended)


@dataclass(frozen=True)
class AttentionVariant:
    name: str
    path: str
    bf16: bool = False
    backend: str | None = None  # force an SDPA backend (CUDA): FLASH_ATTENTION, EFFICIENT_ATTENTION, CUDNN_ATTENTION, MATH


def variants(device: torch.device) -> list[AttentionVariant]:
    found = [
        AttentionVariant("explicit", "explicit"),
        AttentionVariant("fused", "fused"),
        AttentionVariant("fused, q/k padded to v size", "fused_padded"),
        AttentionVariant("explicit bf16 autocast", "explicit", bf16=True),
        AttentionVariant("fused bf16 autocast", "fused", bf16=True),
        AttentionVariant("fused padded bf16 autocast", "fused_padded", bf16=True),
    ]
    if device.type == "cuda":
        for backend in ("FLASH_ATTENTION", "EFFICIENT_ATTENTION", "CUDNN_ATTENTION", "MATH"):
            for path in ("fused", "fused_padded"):
                found.append(AttentionVariant(f"{path} bf16, forced {backend.lower()}", path, bf16=True, backend=backend))
    return found


def _backend_context(backend: str | None):
    if backend is None:
        return contextlib.nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel(getattr(SDPBackend, backend))


class AttentionCase:
    """One block and input for one variant; each call is one forward + backward."""

    def __init__(self, side: int, batch: int, variant: AttentionVariant, device: torch.device):
        self.side, self.batch, self.variant, self.device = side, batch, variant, device
        self.channels = PAPER_CHANNELS[side]
        torch.manual_seed(0)
        self.block = SelfAttention2d(self.channels).to(device)
        with torch.no_grad():
            self.block.gamma.fill_(1.0)  # a trained block: the attention output reaches the result
        self.x = torch.randn(batch, self.channels, side, side, device=device, requires_grad=True)
        self.error: str | None = None

    def __call__(self) -> None:
        self.block.zero_grad(set_to_none=True)
        self.x.grad = None
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16) if self.variant.bf16 else contextlib.nullcontext()
        with _backend_context(self.variant.backend), autocast:
            y = attention_block_forward(self.block, self.x, self.variant.path)
        y.float().square().mean().backward()

    def warm_up(self, calls: int) -> bool:
        """Run `calls` untimed calls; False (and `error` set) when this variant cannot run these shapes."""
        try:
            for _ in range(calls):
                self()
        except RuntimeError as error:  # a forced backend that does not take these shapes
            self.error = str(error).splitlines()[0][:120] if str(error) else type(error).__name__
            return False
        return True

    def row(self, timing: Timing | None) -> Row:
        common = dict(
            section="attention", group=f"attention {self.side}x{self.side} C{self.channels} b{self.batch}",
            variant=self.variant.name, device=str(self.device), dtype="bf16 autocast" if self.variant.bf16 else "fp32",
            batch=self.batch, threads=torch.get_num_threads(), baseline=self.variant.name == "explicit",
        )
        if timing is None:
            return Row(**common, status=f"failed: {self.error}")
        extra = {"keys": (self.side // 2) ** 2, "queries": self.side * self.side}
        if self.device.type == "cuda" and self.variant.backend is None:
            extra["kernel"] = _attention_kernels(self)
        return Row(**common, iters=len(timing.seconds), seconds_per_iter=timing.median,
                   items_per_second=self.batch / timing.median, peak_mib=timing.peak_mib, extra=extra)


def measure_side(side: int, batch: int, device: torch.device, warmup: int, rounds: int,
                 interleave: bool) -> list[Row]:
    """Every variant at one map size, timed in turns (interleave) or one after another."""
    cases = [AttentionCase(side, batch, variant, device) for variant in variants(device)]
    runnable = [case for case in cases if case.warm_up(warmup)]
    if interleave:
        timings = dict(zip(map(id, runnable), time_interleaved(runnable, device, rounds=rounds)))
    else:
        timings = {id(case): time_calls(case, device, warmup=0, iters=rounds) for case in runnable}
    return [case.row(timings.get(id(case))) for case in cases]


def _attention_kernels(fn) -> str:
    """Names of the attention kernels CUDA ran for `fn` (to check that a fused kernel was chosen)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        fn()
        torch.cuda.synchronize()
    marks = ("flash", "fmha", "attention", "cudnn", "efficient", "softmax")
    names = sorted({e.key for e in prof.key_averages() if any(m in e.key.lower() for m in marks)})
    return "; ".join(name[:60] for name in names[:4]) or "none found"

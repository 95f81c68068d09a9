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

from measure import time_calls
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


def measure_variant(side: int, batch: int, variant: AttentionVariant, device: torch.device,
                    warmup: int, iters: int) -> Row:
    channels = PAPER_CHANNELS[side]
    torch.manual_seed(0)
    block = SelfAttention2d(channels).to(device)
    with torch.no_grad():
        block.gamma.fill_(1.0)  # a trained block: the attention output reaches the result
    x = torch.randn(batch, channels, side, side, device=device, requires_grad=True)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if variant.bf16 else contextlib.nullcontext()

    def forward_backward():
        block.zero_grad(set_to_none=True)
        x.grad = None
        with _backend_context(variant.backend), autocast:
            y = attention_block_forward(block, x, variant.path)
        y.float().square().mean().backward()

    kernel = _attention_kernels(forward_backward) if device.type == "cuda" and variant.backend is None else None
    group = f"attention {side}x{side} C{channels} b{batch}"
    common = dict(section="attention", group=group, variant=variant.name, device=str(device),
                  dtype="bf16 autocast" if variant.bf16 else "fp32", batch=batch, threads=torch.get_num_threads(),
                  baseline=variant.name == "explicit")
    try:
        timing = time_calls(forward_backward, device, warmup=warmup, iters=iters)
    except RuntimeError as error:  # a forced backend that does not take these shapes
        return Row(**common, status=f"failed: {str(error).splitlines()[0][:120]}")
    return Row(**common, iters=len(timing.seconds), seconds_per_iter=timing.median,
               items_per_second=batch / timing.median, peak_mib=timing.peak_mib,
               extra={"keys": (side // 2) ** 2, "queries": side * side, **({"kernel": kernel} if kernel else {})})


def _attention_kernels(fn) -> str:
    """Names of the attention kernels CUDA ran for `fn` (to check that a fused kernel was chosen)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        fn()
        torch.cuda.synchronize()
    marks = ("flash", "fmha", "attention", "cudnn", "efficient", "softmax")
    names = sorted({e.key for e in prof.key_averages() if any(m in e.key.lower() for m in marks)})
    return "; ".join(name[:60] for name in names[:4]) or "none found"

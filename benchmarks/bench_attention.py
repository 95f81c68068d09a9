"""Attention-block benchmark: one SelfAttention2d, forward + backward, per attention path.

Paths: the explicit softmax(q k^T) v (baseline: it builds the N x N/4 map), the fused
`scaled_dot_product_attention` the model uses by default, and the fused call with query and key
zero-padded to the value's head size (same scores, q.k is unchanged by zero entries; equal head
sizes may let a faster kernel run). On CUDA each SDPA backend is also forced in turn to show which
ones accept these shapes and what each costs.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from sagan_hf.models import SelfAttention2d
from sagan_hf.training.assembly import resolve_attention_implementation

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
    backend: str | None = None  # force an SDPA backend: FLASH_ATTENTION, EFFICIENT_ATTENTION, CUDNN_ATTENTION, MATH
    default: bool = False  # the path the trainer's attention_implementation="auto" takes for this block


SDPA_BACKENDS = ("FLASH_ATTENTION", "EFFICIENT_ATTENTION", "CUDNN_ATTENTION", "MATH")


def variants(device: torch.device, side: int, batch: int, probe_backends: bool | None = None) -> list[AttentionVariant]:
    """The paths of one block; with `probe_backends` (default: on CUDA) also each SDPA backend forced in
    turn, as the head sizes come (q/k C/8, v C/2) and with q/k padded to the value's size."""
    queries = side * side
    map_bytes = 2 * 4 * batch * queries * queries // 4
    default_fp32 = resolve_attention_implementation("auto", device, map_bytes)
    default_bf16 = resolve_attention_implementation("auto", device, map_bytes, bf16=True)
    found = [
        AttentionVariant("explicit", "explicit"),
        AttentionVariant("fused", "fused"),
        AttentionVariant("fused, q/k padded to v size", "fused_padded"),
        AttentionVariant(f"default path ({default_fp32})", default_fp32, default=True),
        AttentionVariant("explicit bf16 autocast", "explicit", bf16=True),
        AttentionVariant("fused bf16 autocast", "fused", bf16=True),
        AttentionVariant("fused padded bf16 autocast", "fused_padded", bf16=True),
        AttentionVariant(f"default path ({default_bf16}), bf16 autocast", default_bf16, bf16=True, default=True),
    ]
    if probe_backends if probe_backends is not None else device.type == "cuda":
        for backend in SDPA_BACKENDS:
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

    def __init__(self, side: int, batch: int, variant: AttentionVariant, device: torch.device,
                 channels: int | None = None, channels_last: bool = False):
        self.side, self.batch, self.variant, self.device = side, batch, variant, device
        self.channels, self.channels_last = channels or PAPER_CHANNELS[side], channels_last
        memory_format = torch.channels_last if channels_last else torch.contiguous_format
        torch.manual_seed(0)
        self.block = SelfAttention2d(self.channels).to(device, memory_format=memory_format)
        with torch.no_grad():
            self.block.gamma.fill_(1.0)  # a trained block: the attention output reaches the result
        # In channels_last the projections' (B, N, C) views have unit stride on the feature axis, which the
        # fused SDPA kernels require; in the default layout that stride is N.
        x = torch.randn(batch, self.channels, side, side, device=device).contiguous(memory_format=memory_format)
        self.x = x.requires_grad_()
        self.error: str | None = None

    def __call__(self) -> None:
        self.block.zero_grad(set_to_none=True)
        self.x.grad = None
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16) if self.variant.bf16 else contextlib.nullcontext()
        with _backend_context(self.variant.backend), autocast:
            y = attention_block_forward(self.block, self.x, self.variant.path)
        y.float().square().mean().backward()

    def warm_up(self, calls: int) -> bool:
        """Run `calls` untimed calls; False (and `error` set) when this variant cannot run these shapes.

        A refused SDPA backend raises a generic error; torch's warnings just before it say why (e.g. head
        sizes that differ or that a kernel does not support): they are kept in `error` too.
        """
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                for _ in range(calls):
                    self()
            except RuntimeError as error:  # a forced backend that does not take these shapes
                reasons = dict.fromkeys(_reason(str(w.message)) for w in caught)
                self.error = "; ".join([str(error).splitlines()[0][:100] if str(error) else type(error).__name__, *reasons])
                return False
        return True

    def row(self, timing: Timing | None) -> Row:
        common = dict(
            section="attention",
            group=f"attention {self.side}x{self.side} C{self.channels} b{self.batch}" + " channels_last" * self.channels_last,
            variant=self.variant.name, device=str(self.device), dtype="bf16 autocast" if self.variant.bf16 else "fp32",
            batch=self.batch, threads=torch.get_num_threads(), baseline=self.variant.name == "explicit",
            default=self.variant.default,
        )
        head_sizes = {"qk_head": self.channels // 8, "v_head": self.channels // 2}
        if timing is None:
            return Row(**common, status=f"failed: {self.error}", extra=head_sizes)
        extra = {"keys": (self.side // 2) ** 2, "queries": self.side * self.side, **head_sizes, **timing.spread()}
        if self.variant.path != "explicit":
            extra.update(attention_backends(self, self.device))
        return Row(**common, iters=len(timing.seconds), seconds_per_iter=timing.median,
                   items_per_second=self.batch / timing.median, peak_mib=timing.peak_mib, extra=extra)


def _reason(message: str) -> str:
    """A refusal warning of torch's SDPA dispatcher without its source location, on one line."""
    return " ".join(re.sub(r"\(Triggered internally at [^)]*\)", "", message).split())[:160]


def measure_side(side: int, batch: int, device: torch.device, warmup: int, rounds: int,
                 interleave: bool, channels: int | None = None, probe_backends: bool | None = None,
                 channels_last: bool = False) -> list[Row]:
    """Every variant at one map size (`channels` wide, default the paper generator's; input and block in
    `channels_last` or not), timed in turns (interleave) or one after another."""
    cases = [AttentionCase(side, batch, variant, device, channels, channels_last)
             for variant in variants(device, side, batch, probe_backends)]
    runnable = [case for case in cases if case.warm_up(warmup)]
    if interleave:
        timings = dict(zip(map(id, runnable), time_interleaved(runnable, device, rounds=rounds)))
    else:
        timings = {id(case): time_calls(case, device, warmup=0, iters=rounds) for case in runnable}
    return [case.row(timings.get(id(case))) for case in cases]


def attention_backends(fn, device: torch.device) -> dict:
    """What one call of `fn` ran: `backend`, the SDPA implementations torch dispatched to (its
    `aten::_scaled_dot_product_*` operators: flash, efficient, cudnn, or the math fallback), and on CUDA
    `kernel`, the names of the attention kernels on the GPU."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
    events = prof.key_averages()
    prefix = "aten::_scaled_dot_product_"
    ops = sorted({e.key[len(prefix):] for e in events if e.key.startswith(prefix) and "backward" not in e.key})
    found = {"backend": "; ".join(ops) or "none"}
    if device.type == "cuda":
        marks = ("flash", "fmha", "attention", "cudnn", "efficient", "softmax")
        kernels = sorted({e.key for e in events if e.device_type.name == "CUDA" and any(m in e.key.lower() for m in marks)})
        found["kernel"] = "; ".join(name[:60] for name in kernels[:4]) or "none found"
    return found

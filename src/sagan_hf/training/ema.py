"""Exponential moving average of the generator: parameters averaged, buffers copied.

diffusers' EMAModel averages parameters only; a GAN generator also carries BatchNorm running
statistics and spectral-norm vectors u, v as buffers, and those must follow the live generator.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class GeneratorEMA:
    """An eval-mode copy of the generator whose weights track the live one.

    Args:
        model: the (unwrapped) generator; it is deep-copied.
        decay: EMA decay per update.
        start_step: until this training step the copy simply follows the model (decay 0).
        warmup: ramp the decay as min(decay, (1 + n) / (10 + n)) over the n updates since start_step.

    Register it with `accelerator.register_for_checkpointing` (it has `state_dict` / `load_state_dict`).
    """

    def __init__(self, model: nn.Module, decay: float, start_step: int = 0, warmup: bool = True):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.decay = decay
        self.start_step = start_step
        self.warmup = warmup
        self.num_updates = 0  # averaging updates since start_step

    def current_decay(self, step: int) -> float:
        """The decay the update at training step `step` uses (0 before start_step: a plain copy)."""
        if step <= self.start_step:
            return 0.0
        if self.warmup:
            n = self.num_updates
            return min(self.decay, (1.0 + n) / (10.0 + n))
        return self.decay

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        """Move the average towards `model` (the unwrapped generator) after training step `step`."""
        decay = self.current_decay(step)
        ema_params = list(self.model.parameters())
        params = [p.detach() for p in model.parameters()]
        if len(ema_params) != len(params):
            raise ValueError("the EMA copy and the model have different parameter lists")
        if decay == 0.0:
            torch._foreach_copy_(ema_params, params)
        else:
            # lerp(ema, p, 1 - decay) = decay * ema + (1 - decay) * p, in one fused pass.
            torch._foreach_lerp_(ema_params, params, 1.0 - decay)
            self.num_updates += 1
        ema_buffers = list(self.model.buffers())
        if ema_buffers:
            torch._foreach_copy_(ema_buffers, [b.detach() for b in model.buffers()])

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "num_updates": self.num_updates}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.num_updates = int(state["num_updates"])

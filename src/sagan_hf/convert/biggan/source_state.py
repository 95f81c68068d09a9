"""Reading a BigGAN-PyTorch state dict key by key, collecting every layout problem for one clear error."""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

_EXTRA_SV_KEY = re.compile(r"\.(u[1-9]\d*|sv\d+)$")  # logging buffers, and vectors beyond the first


class SourceState:
    """A source state dict read key by key, collecting every missing key, bad shape and unused key."""

    def __init__(self, state: Mapping, name: str):
        self.name = name
        self.state = state
        self.used: set[str] = set()
        self.missing: list[str] = []
        self.bad_shapes: list[str] = []

    def take(self, key: str, shape=None) -> torch.Tensor | None:
        if key not in self.state:
            self.missing.append(key)
            return None
        self.used.add(key)
        tensor = self.state[key]
        if not isinstance(tensor, torch.Tensor):
            self.bad_shapes.append(f"{key}: expected a tensor, found {type(tensor).__name__}")
            return None
        if shape is not None and tuple(tensor.shape) != tuple(shape):
            self.bad_shapes.append(f"{key}: expected shape {tuple(shape)}, found {tuple(tensor.shape)}")
            return None
        return tensor.detach().float() if tensor.is_floating_point() else tensor.detach()

    def take_sn_extras(self, prefix: str) -> None:
        """Mark the logging buffers and extra singular vectors of an SN layer as read."""
        self.used.update(
            key for key in self.state if key.startswith(prefix + ".") and _EXTRA_SV_KEY.search(key)
        )

    def raise_problems(self) -> None:
        unexpected = sorted(set(self.state) - self.used)
        if not (self.missing or self.bad_shapes or unexpected):
            return
        lines = [f"{self.name} does not match the expected BigGAN-PyTorch layout for this architecture:"]
        if self.missing:
            lines.append("  missing keys: " + ", ".join(self.missing))
        if self.bad_shapes:
            lines.append("  shape mismatches: " + "; ".join(self.bad_shapes))
        if unexpected:
            lines.append("  unexpected keys: " + ", ".join(unexpected))
        if self.missing and not any(key.endswith(".u0") for key in self.state):
            lines.append(
                "  (there are no '.u0' buffers at all: the converter takes only spectral-normed runs, "
                "G_param/D_param='SN')"
            )
        lines.append("  Check --resolution, --ch, --attention_resolutions, --num_classes and --z_dim.")
        raise ValueError("\n".join(lines))

"""Reading a source state dict key by key, collecting every layout problem for one clear error."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch


class SourceState:
    """A source state dict read key by key; every missing key, bad shape and unread key is collected.

    `take` returns None for a key that is missing or has the wrong shape (and records why), so a
    converter can read everything and report all problems at once with `raise_problems`.
    """

    def __init__(self, state: Mapping, name: str, layout: str):
        self.name = name  # "the generator checkpoint"
        self.layout = layout  # "BigGAN-PyTorch", "StudioGAN", ...
        self.state = state
        self.used: set[str] = set()
        self.missing: list[str] = []
        self.bad_shapes: list[str] = []

    def has(self, key: str) -> bool:
        return key in self.state

    def take(self, key: str, shape=None) -> torch.Tensor | None:
        """The tensor at `key` (floats as float32), checked against `shape`; None (recorded) if unusable."""
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

    def mark_read(self, keys: Iterable[str]) -> None:
        """Count keys as read that carry nothing the conversion needs (logging buffers, counters)."""
        self.used.update(key for key in keys if key in self.state)

    def raise_problems(self, hints: Iterable[str] = ()) -> None:
        """Raise one ValueError listing missing, wrongly shaped and unexpected keys (if there are any)."""
        unexpected = sorted(set(self.state) - self.used)
        if not (self.missing or self.bad_shapes or unexpected):
            return
        lines = [f"{self.name} does not match the expected {self.layout} layout for this architecture:"]
        if self.missing:
            lines.append("  missing keys: " + ", ".join(self.missing))
        if self.bad_shapes:
            lines.append("  shape mismatches: " + "; ".join(self.bad_shapes))
        if unexpected:
            lines.append("  unexpected keys: " + ", ".join(unexpected))
        lines.extend(f"  {hint}" for hint in hints)
        raise ValueError("\n".join(lines))

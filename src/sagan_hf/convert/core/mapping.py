"""Filling our model's state dict from a source state dict, one layer at a time.

`StateMapper` knows our side (the target model's keys and shapes, BatchNorm epsilons); each converter
names the source keys and says how its spectral-norm layers are stored (`read_spectral`). Problems are
collected by the `SourceState` and reported together before anything is loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

from .batchnorm import fold_bn_eps
from .source_state import SourceState
from .spectral import SpectralWeight

# (source state, source prefix, raw weight shape) -> the layer's weight and eval-mode vectors, or None
SpectralReader = Callable[[SourceState, str, tuple], SpectralWeight | None]


class StateMapper:
    """Builds the state dict of `model` from `source`, with `read_spectral` for the source's SN layers."""

    def __init__(self, model: nn.Module, source: SourceState, read_spectral: SpectralReader):
        self.model = model
        self.source = source
        self.read_spectral = read_spectral
        self.target = model.state_dict()
        self.out: dict[str, torch.Tensor | None] = {}

    def shape(self, ours: str) -> tuple[int, ...]:
        return tuple(self.target[ours].shape)

    def copy(self, theirs: str, ours: str, source_shape: tuple | None = None) -> None:
        """Their tensor as ours; `source_shape` when theirs is laid out differently (e.g. (1,) for a scalar)."""
        tensor = self.source.take(theirs, self.shape(ours) if source_shape is None else source_shape)
        self.out[ours] = None if tensor is None else tensor.reshape(self.shape(ours))

    def spectral_weight(self, theirs: str, shape: tuple) -> SpectralWeight | None:
        return self.read_spectral(self.source, theirs, tuple(shape))

    def spectral(self, theirs: str, ours: str, bias: bool = True) -> None:
        """A spectral-norm layer: raw weight and eval-mode vectors (plus the bias when it has one)."""
        weight_key = f"{ours}.parametrizations.weight.original"
        layer = self.spectral_weight(theirs, self.shape(weight_key))
        if layer is None:
            self.out.update(dict.fromkeys([weight_key, f"{ours}.parametrizations.weight.0._u",
                                           f"{ours}.parametrizations.weight.0._v"]))
        else:
            self.out.update(layer.state_entries(ours))
        if bias:
            self.copy(f"{theirs}.bias", f"{ours}.bias")

    def attention(self, theirs: str, ours: str, convs: dict[str, str], scalar: str, scalar_shape=None) -> None:
        """A SAGAN attention block: `convs` maps their four SN 1x1 convs (theta, phi, g, o) to ours
        (query, key, value, out); `scalar` is their gamma (or StudioGAN's `sigma`, shape (1,))."""
        for their_name, our_name in convs.items():
            self.spectral(f"{theirs}.{their_name}", f"{ours}.{our_name}", bias=False)
        self.copy(f"{theirs}.{scalar}", f"{ours}.gamma", source_shape=scalar_shape)

    def normalized(self, theirs: str, shape: tuple) -> torch.Tensor | None:
        """W / sigma of one of their SN layers, as its eval forward uses it."""
        layer = self.spectral_weight(theirs, shape)
        return None if layer is None else layer.normalized()

    def batchnorm_statistics(self, theirs_mean: str, theirs_var: str, ours: str, source_eps: float,
                             theirs_count: str | None = None) -> None:
        """Running statistics into our BatchNorm module at `ours`, the epsilon difference folded in."""
        norm = self.model.get_submodule(ours)
        width = norm.num_features
        mean = self.source.take(theirs_mean, (width,))
        var = self.source.take(theirs_var, (width,))
        self.out[f"{ours}.running_mean"] = mean
        self.out[f"{ours}.running_var"] = None if var is None else fold_bn_eps(var, source_eps, norm.eps)
        count = self.source.take(theirs_count, ()) if theirs_count and self.source.has(theirs_count) else None
        self.out[f"{ours}.num_batches_tracked"] = (
            count.long() if count is not None else torch.tensor(0, dtype=torch.long)
        )

    def conditional_tables(self, ours: str, gain: torch.Tensor | None, bias: torch.Tensor | None) -> None:
        """Folded per-class tables into our conditional BatchNorm at `ours` (gain multiplies, no offset)."""
        for name, table in (("gain", gain), ("bias", bias)):
            key = f"{ours}.{name}.weight"
            if table is not None and tuple(table.shape) != self.shape(key):
                self.source.bad_shapes.append(
                    f"{ours}.{name}: the folded table has shape {tuple(table.shape)}, expected {self.shape(key)} "
                    "(classes, channels)"
                )
                table = None
            self.out[key] = table

    def set(self, ours: str, tensor: torch.Tensor) -> None:
        self.out[ours] = tensor

    def load(self, hints: Iterable[str] = (), transform: Callable[[dict], None] | None = None) -> nn.Module:
        """Report every problem at once, else apply `transform` to the state and load it (eval mode)."""
        self.source.raise_problems(hints)
        incomplete = sorted(key for key, value in self.out.items() if value is None)
        if incomplete:  # cannot happen once the source had no problems; kept as a guard
            raise ValueError(f"{self.source.name}: could not convert {', '.join(incomplete)}")
        if transform is not None:
            transform(self.out)
        self.model.load_state_dict(self.out, strict=True)
        return self.model.eval()

"""Sampling-only speed-ups: spectral-norm weights folded into plain weights.

A spectrally normalised layer recomputes `W / sigma(W)` every time its weight is read. In eval mode
sigma comes from the stored singular vectors (no power iteration), so for a model that only samples the
division can be done once and the parametrisation removed. The folded model computes the same images
but can no longer be trained, and its state dict has plain `weight` keys instead of the
`parametrizations.weight.original` / `_u` / `_v` ones: keep the unfolded model for saving.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize


def spectral_normed_modules(model: nn.Module) -> list[nn.Module]:
    """The modules of `model` whose `weight` carries a parametrisation (spectral norm in SAGAN)."""
    return [m for m in model.modules() if parametrize.is_parametrized(m, "weight")]


@torch.no_grad()
def fold_spectral_norm(model: nn.Module) -> nn.Module:
    """Replace every parametrised weight of `model` by its current eval-mode value, in place.

    The model is put in eval mode first (so sigma uses the stored u, v and they are not updated) and
    stays in eval mode. Returns `model` for chaining. Folding a model with nothing to fold is a no-op.
    """
    model.eval()
    for module in spectral_normed_modules(model):
        _own_parametrized_class(module)
        parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
    return model


def _own_parametrized_class(module: nn.Module) -> None:
    """Give `module` a private copy of its generated parametrised class.

    torch builds one `Parametrized<Name>` class per registration, and `copy.deepcopy` shares it between
    the original and the copy; `remove_parametrizations` deletes the `weight` property from that class,
    which would break every other copy (e.g. the model a sampling copy was made from).
    """
    cls = module.__class__
    module.__class__ = type(cls.__name__, cls.__bases__, dict(cls.__dict__))


def is_spectral_norm_folded(model: nn.Module) -> bool:
    """True when no weight of `model` is parametrised any more."""
    return not spectral_normed_modules(model)

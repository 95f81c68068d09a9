"""Spectrally normalised layers (Miyato et al., 2018) and the weight initialisation of the reference code."""

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import _SpectralNorm

# The reference SAGAN/BigGAN code uses one power iteration per training step and a small epsilon.
SPECTRAL_NORM_EPS = 1e-6


class AutocastSafeSpectralNorm(_SpectralNorm):
    """torch's spectral norm, with the power iteration and sigma kept out of autocast.

    On CUDA, autocast runs `torch.mv` in bf16: u, v and sigma would only be bf16-accurate, a random
    rescaling of every weight at every step. With autocast off they stay in the weight's own dtype
    (fp32 in mixed-precision training). Same state-dict keys as torch's parametrisation.
    """

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        if weight.is_meta:  # models built empty for loading: no autocast on meta tensors, nothing to compute
            return super().forward(weight)
        with torch.autocast(weight.device.type, enabled=False):
            return super().forward(weight)


def sn(module: nn.Module) -> nn.Module:
    """Wrap `module.weight` in a spectral-norm parametrisation (one power iteration per training call)."""
    parametrization = AutocastSafeSpectralNorm(module.weight, n_power_iterations=1, dim=0, eps=SPECTRAL_NORM_EPS)
    parametrize.register_parametrization(module, "weight", parametrization)
    return module


def sn_conv2d(in_channels: int, out_channels: int, kernel_size: int = 3, bias: bool = True) -> nn.Module:
    return sn(nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=bias))


def sn_linear(in_features: int, out_features: int, bias: bool = True) -> nn.Module:
    return sn(nn.Linear(in_features, out_features, bias=bias))


def sn_embedding(num_embeddings: int, embedding_dim: int) -> nn.Module:
    return sn(nn.Embedding(num_embeddings, embedding_dim))


def is_spectral_normed(module: nn.Module) -> bool:
    parametrizations = getattr(module, "parametrizations", None)
    return parametrizations is not None and "weight" in parametrizations


def weight_to_init(module: nn.Module):
    """The tensor that initialisation must write: the raw weight under a spectral-norm parametrisation."""
    if is_spectral_normed(module):
        return module.parametrizations.weight.original
    return module.weight


def initialize_weights(model: nn.Module, init: str) -> None:
    """Initialise every conv, linear and spectral-normed embedding weight; biases start at 0.

    `xavier` (Glorot uniform) is the reference recipe; `orthogonal` is BigGAN's choice. The
    class-conditional BatchNorm tables are plain embeddings without spectral norm and keep their own
    initialisation (gain 1, bias 0).
    """
    if init not in ("xavier", "orthogonal"):
        raise ValueError(f"init must be 'xavier' or 'orthogonal', got {init!r}")
    if any(p.is_meta for p in model.parameters()):
        return  # built empty by from_pretrained: the checkpoint supplies every value
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)) or (
            isinstance(module, nn.Embedding) and is_spectral_normed(module)
        ):
            weight = weight_to_init(module)
            if init == "xavier":
                nn.init.xavier_uniform_(weight)
            else:
                nn.init.orthogonal_(weight)
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)
            if is_spectral_normed(module):
                refresh_power_iteration(module)


@torch.no_grad()
def refresh_power_iteration(module: nn.Module, iterations: int = 50) -> None:
    """Re-estimate the singular vectors u, v after the raw weight was rewritten.

    torch runs 15 power iterations when the parametrisation is registered; after a re-initialisation
    those vectors belong to the old weight, and an eval-mode forward (which does not iterate) would
    divide by a stale sigma.
    """
    parametrization = module.parametrizations.weight[0]
    weight_matrix = parametrization._reshape_weight_to_matrix(module.parametrizations.weight.original)
    parametrization._power_method(weight_matrix, iterations)

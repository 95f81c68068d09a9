"""Latent and class sampling for the SAGAN pipeline: plain or truncated normal z, uniform classes."""

import math

import torch
from diffusers.utils.torch_utils import randn_tensor

Generators = torch.Generator | list[torch.Generator] | None


def _per_sample(generator: Generators, batch_size: int, draw):
    """Call `draw(n, g)` once for the batch, or once per sample with a list of generators."""
    if isinstance(generator, list):
        return torch.cat([draw(1, g) for g in generator[:batch_size]])
    return draw(batch_size, generator)


def sample_latents(batch_size: int, z_dim: int, generator: Generators, truncation: float | None) -> torch.Tensor:
    """z ~ N(0, I) in fp32 on the CPU, or a normal truncated to [-truncation, truncation] (BigGAN's trick).

    The truncated normal is drawn by inverting the CDF of a uniform sample, so one draw per value:
    no rejection loop, and the result depends only on the seed.
    """
    if truncation is None:
        return randn_tensor((batch_size, z_dim), generator=generator, device=torch.device("cpu"), dtype=torch.float32)
    low = 0.5 * math.erfc(truncation / math.sqrt(2.0))  # Phi(-truncation)

    def draw(n, g):
        uniform = torch.rand((n, z_dim), generator=g, dtype=torch.float64)
        return torch.special.ndtri(low + (1.0 - 2.0 * low) * uniform)

    return _per_sample(generator, batch_size, draw).to(torch.float32)


def sample_class_labels(batch_size: int, num_classes: int, generator: Generators) -> torch.Tensor:
    """Uniform random classes, drawn from the same generator(s) as the latents."""
    return _per_sample(generator, batch_size, lambda n, g: torch.randint(0, num_classes, (n,), generator=g))

"""Test helpers: a randomly initialised FID Inception state dict saved like the real file.

Such weights let tests exercise the whole feature path offline. They are NOT the FID weights:
loading them needs ``allow_nonstandard_weights=True`` and every score they give is labelled so.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from sagan_hf.evaluation.inception import FIDInceptionV3


def save_random_inception_weights(
    path: str | os.PathLike, seed: int = 0, *, legacy_format: bool = False
) -> Path:
    """Saves a random FIDInceptionV3 state dict whose activations keep a useful scale.

    PyTorch's default conv init shrinks activations at every layer (features ~1e-8 after 94 layers);
    He-normal init keeps them O(1), so features of different images differ measurably.
    ``legacy_format`` writes the pre-1.6 (non-zip) serialisation, the format of files from that era.
    """
    generator = torch.Generator().manual_seed(seed)
    network = FIDInceptionV3()
    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, nn.Conv2d):
                fan_in = module.weight[0].numel()
                module.weight.copy_(
                    torch.randn(module.weight.shape, generator=generator) * (2.0 / fan_in) ** 0.5
                )
            elif isinstance(module, nn.Linear):
                module.weight.copy_(
                    torch.randn(module.weight.shape, generator=generator) / module.in_features**0.5
                )
                module.bias.zero_()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(network.state_dict(), path, _use_new_zipfile_serialization=not legacy_format)
    return path

"""Standing statistics: re-estimate a generator's BatchNorm statistics from fresh samples.

The running statistics saved with a GAN generator are exponential averages over its last training
batches. BigGAN-PyTorch ("standing stats") and StudioGAN (`-std_stat`) report their best scores after
replacing them with averages over many fresh generated batches, which the published files do not
contain. Here every BatchNorm is reset and, in training mode with a cumulative average (momentum None),
sees `num_batches` batches of z ~ N(0, I) (or truncated) and uniform classes; spectral norm stays in
eval mode, so no weight and no singular-vector estimate changes. The result depends only on the seed.
(StudioGAN itself draws random batch sizes and keeps its 0.1 momentum and spectral-norm updates; this
is the plain average over the same kind of samples.)
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

from .pipeline_sagan import sample_class_labels, sample_latents


@torch.no_grad()
def recompute_batchnorm_statistics(
    pipeline,
    num_batches: int = 16,
    batch_size: int = 64,
    seed: int = 0,
    truncation: float | None = None,
):
    """Replace the running statistics of every BatchNorm in `pipeline.generator` by fresh averages.

    Args:
        pipeline: a `SAGANPipeline` (its generator is updated in place).
        num_batches: batches of generated samples to average over.
        batch_size: samples per batch (BatchNorm statistics of very small batches are noisy).
        seed: seeds the latents and classes; the same seed gives the same statistics.
        truncation: sample z from a normal truncated to [-truncation, truncation], as the images will be.

    Returns:
        The pipeline, for chaining.
    """
    if isinstance(num_batches, bool) or not isinstance(num_batches, int) or num_batches < 1:
        raise ValueError(f"num_batches must be a positive integer, got {num_batches!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 2:
        raise ValueError(f"batch_size must be an integer >= 2 (BatchNorm needs a batch), got {batch_size!r}")
    generator = pipeline.generator
    norms = [module for module in generator.modules() if isinstance(module, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        raise ValueError("the generator has no BatchNorm layers: there are no statistics to recompute")
    config = generator.config
    device, dtype = next(generator.parameters()).device, generator.dtype
    random = torch.Generator().manual_seed(seed)
    was_training, momenta = generator.training, [norm.momentum for norm in norms]
    generator.eval()  # spectral norm (and anything else) stays in eval mode: weights are left alone
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average over the batches, not an exponential one
        norm.train()
    try:
        with parametrize.cached():
            for _ in range(num_batches):
                latents = sample_latents(batch_size, config.z_dim, random, truncation)
                labels = sample_class_labels(batch_size, config.num_classes, random) if config.num_classes else None
                generator(latents.to(device=device, dtype=dtype), None if labels is None else labels.to(device))
    finally:
        for norm, momentum in zip(norms, momenta):
            norm.momentum = momentum
        generator.train(was_training)
    return pipeline

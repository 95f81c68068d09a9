"""Turn fresh networks into a ready training step: EMA, optimisers, `accelerator.prepare`, SAGANTrainStep.

Shared by the trainer, the benchmarks and the tests, so all of them measure and check the same step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from accelerate import Accelerator

from ..models import SAGANDiscriminator, SAGANGenerator
from .config import TrainConfig
from .ema import GeneratorEMA
from .train_step import SAGANTrainStep, make_adam


@dataclass
class PreparedTraining:
    """The prepared (possibly DDP-wrapped or compiled) networks, their optimisers, the EMA and the step."""

    generator: torch.nn.Module
    discriminator: torch.nn.Module
    optimizer_g: torch.optim.Optimizer
    optimizer_d: torch.optim.Optimizer
    ema: GeneratorEMA
    step: SAGANTrainStep


def assemble_training(
    accelerator: Accelerator,
    config: TrainConfig,
    generator: SAGANGenerator,
    discriminator: SAGANDiscriminator,
    num_classes: int,
) -> PreparedTraining:
    """EMA copy of `generator`, TTUR Adam for both nets, `accelerator.prepare`, and the training step."""
    if config.channels_last:
        generator.to(memory_format=torch.channels_last)
        discriminator.to(memory_format=torch.channels_last)
    ema = GeneratorEMA(generator, config.ema_decay, config.ema_start_step, config.ema_warmup)
    ema.model.to(accelerator.device)
    betas = (config.adam_beta1, config.adam_beta2)
    optimizer_g = make_adam(generator.parameters(), config.learning_rate_g, betas, config.adam_epsilon)
    optimizer_d = make_adam(discriminator.parameters(), config.learning_rate_d, betas, config.adam_epsilon)
    generator, discriminator, optimizer_g, optimizer_d = accelerator.prepare(
        generator, discriminator, optimizer_g, optimizer_d
    )
    step = SAGANTrainStep(
        accelerator, generator, discriminator, optimizer_g, optimizer_d, z_dim=config.z_dim,
        num_classes=num_classes, n_dis=config.n_dis, gradient_accumulation_steps=config.gradient_accumulation_steps,
        ema=ema, channels_last=config.channels_last,
    )
    generator.train()
    discriminator.train()
    return PreparedTraining(generator, discriminator, optimizer_g, optimizer_d, ema, step)

"""Turn fresh networks into a ready training step: speed settings, EMA, optimisers, `accelerator.prepare`,
SAGANTrainStep.

Shared by the trainer, the benchmarks and the tests, so all of them measure and check the same step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from accelerate import Accelerator

from ..models import SAGANDiscriminator, SAGANGenerator, set_attention_implementation
from .config import TrainConfig, resolve_train_batch_size
from .ema import GeneratorEMA
from .train_step import SAGANTrainStep, make_adam

# `attention_implementation="auto"` takes the explicit path on a CPU only while its maps stay under this
# share of the machine's memory (the rest holds activations, weights and the data pipeline).
EXPLICIT_ATTENTION_MEMORY_SHARE = 0.25


# On a CPU, channels_last training pays up to this image side (docs/benchmarks.md: 1.2-1.3x at 32 px, 1.09x at
# 64 px); at 128 px (ch 64) it measured 0.86x: oneDNN's NHWC weight gradients of the wide 64-128 px layers
# are slower, and spectral norm's matrix view of a channels_last weight is a copy.
CPU_CHANNELS_LAST_MAX_RESOLUTION = 64


@dataclass
class PreparedTraining:
    """The prepared (possibly DDP-wrapped or compiled) networks, their optimisers, the EMA and the step."""

    generator: torch.nn.Module
    discriminator: torch.nn.Module
    optimizer_g: torch.optim.Optimizer
    optimizer_d: torch.optim.Optimizer
    ema: GeneratorEMA
    step: SAGANTrainStep
    attention_implementation: str  # what "auto" resolved to (or the explicit setting)
    channels_last: bool  # what None resolved to (or the explicit setting)


def explicit_attention_bytes(generator: SAGANGenerator, discriminator: SAGANDiscriminator, batch_size: int) -> int:
    """Memory of the explicit path's N x N/4 maps in one training iteration's largest pass.

    Per attention layer and image: logits and softmax output, fp32, N * N/4 each for an r x r map. The
    D step runs D on real + fake (2 x batch); the G step keeps G's and D's maps for one backward.
    """
    def maps_per_image(model) -> int:
        return sum(int(r) ** 4 // 4 for r in model.attentions)

    largest_pass = max(2 * maps_per_image(discriminator), maps_per_image(generator) + maps_per_image(discriminator))
    return 2 * 4 * batch_size * largest_pass


def physical_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def cpu_has_native_bf16() -> bool:
    """Whether oneDNN runs bf16 natively on this CPU (AVX-512 BF16 or AMX); without it bf16 is emulated."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_attention_implementation(
    requested: str, device: torch.device, explicit_map_bytes: int, bf16: bool = False
) -> str:
    """"fused" or "explicit" for a run; "auto" takes the faster one that fits.

    On a CPU the explicit path is the faster one (docs/benchmarks.md) while its maps (`explicit_map_bytes`)
    fit in memory, except under bf16 autocast on a CPU without native bf16, where its emulated bf16 matmuls
    and softmax make it the slower one. On CUDA the fused kernels are both faster and O(N) in memory (the
    paper's model would otherwise hold about 17 GB of maps at batch 256); other devices keep fused, the
    model's default.
    """
    if requested != "auto":
        return requested
    if device.type != "cpu" or (bf16 and not cpu_has_native_bf16()):
        return "fused"
    memory = physical_memory_bytes()
    return "explicit" if memory and explicit_map_bytes <= EXPLICIT_ATTENTION_MEMORY_SHARE * memory else "fused"


def resolve_channels_last(requested: bool | None, device: torch.device, resolution: int) -> bool:
    """channels_last for a run: the setting, or by device: on with CUDA (cuDNN's NHWC kernels), on a CPU up
    to `CPU_CHANNELS_LAST_MAX_RESOLUTION`, off elsewhere."""
    if requested is not None:
        return requested
    if device.type == "cuda":
        return True
    return device.type == "cpu" and resolution <= CPU_CHANNELS_LAST_MAX_RESOLUTION


def assemble_training(
    accelerator: Accelerator,
    config: TrainConfig,
    generator: SAGANGenerator,
    discriminator: SAGANDiscriminator,
    num_classes: int,
) -> PreparedTraining:
    """Speed settings, EMA copy of `generator`, TTUR Adam for both nets, `accelerator.prepare`, the step."""
    batch_size = resolve_train_batch_size(config, accelerator.num_processes)
    attention = resolve_attention_implementation(
        config.attention_implementation, accelerator.device,
        explicit_attention_bytes(generator, discriminator, batch_size), bf16=accelerator.mixed_precision == "bf16",
    )
    channels_last = resolve_channels_last(config.channels_last, accelerator.device, generator.config.sample_size)
    for model in (generator, discriminator):
        set_attention_implementation(model, attention)
        if channels_last:
            model.to(memory_format=torch.channels_last)
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
        ema=ema, channels_last=channels_last,
    )
    generator.train()
    discriminator.train()
    return PreparedTraining(generator, discriminator, optimizer_g, optimizer_d, ema, step, attention, channels_last)

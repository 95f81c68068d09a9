"""Mapping the tensors of a StudioGAN SAGAN generator or discriminator into ours."""

from __future__ import annotations

from collections.abc import Mapping

from ...models import SAGANDiscriminator, SAGANGenerator
from ..core import (
    SourceState,
    StateMapper,
    build_discriminator,
    build_generator,
    gain_from_offset,
    tables_from_onehot_linear,
    tables_from_shared_embedding,
    torch_hook_reader,
    walk_blocks,
)
from .architecture import (
    BN_EPS,
    CBN_EMBEDDINGS,
    CBN_ONEHOT_LINEAR,
    SN_EPS,
    StudioGANArchitecture,
)

LAYOUT = "StudioGAN"
ATTENTION_NAMES = {"conv1x1_theta": "query", "conv1x1_phi": "key", "conv1x1_g": "value", "conv1x1_attn": "out"}
SCALAR, SCALAR_SHAPE = "sigma", (1,)  # its attention gain, our gamma
HINT = ("(the converter reads StudioGAN's ResNet SAGAN: conditional BN generator, projection discriminator "
        "(d_cond_mtd PD), spectral norm in both)")


def _conditional_norm(mapper: StateMapper, theirs: str, ours: str, arch: StudioGANArchitecture, shared) -> None:
    num_classes, width = mapper.shape(f"{ours}.gain.weight")
    if arch.cbn_format == CBN_EMBEDDINGS:
        gain = mapper.normalized(f"{theirs}.embed0", (num_classes, width))
        bias = mapper.normalized(f"{theirs}.embed1", (num_classes, width))
    elif arch.cbn_format == CBN_ONEHOT_LINEAR:
        gain, bias = (mapper.normalized(f"{theirs}.{name}", (width, num_classes)) for name in ("gain", "bias"))
        gain, bias = (None if w is None else tables_from_onehot_linear(w) for w in (gain, bias))
    else:
        gain = bias = None
        if shared is not None:
            gain, bias = (mapper.normalized(f"{theirs}.{name}", (width, shared.shape[1])) for name in ("gain", "bias"))
            gain, bias = (None if w is None else tables_from_shared_embedding(shared, w) for w in (gain, bias))
    mapper.conditional_tables(ours, None if gain is None else gain_from_offset(gain), bias)
    mapper.batchnorm_statistics(f"{theirs}.bn.running_mean", f"{theirs}.bn.running_var", f"{ours}.bn", BN_EPS,
                                f"{theirs}.bn.num_batches_tracked")


def convert_generator(state: Mapping, arch: StudioGANArchitecture, power_iterations: int = 0) -> SAGANGenerator:
    """A `SAGANGenerator` whose eval-mode images equal the StudioGAN generator's.

    `power_iterations` training-mode spectral-norm steps are folded into every SN layer first, so the
    result equals StudioGAN's generator after that many of its own sampling calls (0: a plain eval()).
    """
    model = build_generator(resolution=arch.resolution, num_classes=arch.num_classes, z_dim=arch.z_dim,
                            widths=arch.g_widths, attention=arch.g_attention, bn_eps=BN_EPS)
    source = SourceState(state, "the generator file", LAYOUT)
    mapper = StateMapper(model, source, torch_hook_reader(power_iterations, SN_EPS))
    shared = None
    if arch.cbn_format not in (CBN_EMBEDDINGS, CBN_ONEHOT_LINEAR):
        shared = source.take("shared.weight")
        if shared is not None and shared.shape[0] != arch.num_classes:
            source.bad_shapes.append(f"shared.weight: expected {arch.num_classes} rows (classes), found {shared.shape[0]}")
            shared = None
    mapper.spectral("linear0", "linear")
    for theirs, block, is_attention in walk_blocks(state, "blocks", SCALAR, suffix=".0"):
        if is_attention:
            side = model.block_resolutions[block]
            mapper.attention(theirs, f"attentions.{side}", ATTENTION_NAMES, SCALAR, SCALAR_SHAPE)
            continue
        ours = f"blocks.{block}"
        _conditional_norm(mapper, f"{theirs}.bn1", f"{ours}.norm1", arch, shared)
        _conditional_norm(mapper, f"{theirs}.bn2", f"{ours}.norm2", arch, shared)
        mapper.spectral(f"{theirs}.conv2d1", f"{ours}.conv1")
        mapper.spectral(f"{theirs}.conv2d2", f"{ours}.conv2")
        mapper.spectral(f"{theirs}.conv2d0", f"{ours}.shortcut")
    mapper.copy("bn4.weight", "out_norm.weight")
    mapper.copy("bn4.bias", "out_norm.bias")
    mapper.batchnorm_statistics("bn4.running_mean", "bn4.running_var", "out_norm", BN_EPS, "bn4.num_batches_tracked")
    mapper.spectral("conv2d5", "out_conv")
    return mapper.load([HINT])


def convert_discriminator(state: Mapping, arch: StudioGANArchitecture) -> SAGANDiscriminator:
    """A `SAGANDiscriminator` whose eval-mode logits equal the StudioGAN discriminator's (`adv_output`)."""
    model = build_discriminator(resolution=arch.resolution, num_classes=arch.num_classes, widths=arch.d_widths,
                                downsample=arch.d_downsample, attention_blocks=arch.d_attention_blocks,
                                shortcut_takes_activation=True)  # its ReLU is in place: the shortcut sees relu(x)
    mapper = StateMapper(model, SourceState(state, "the discriminator file", LAYOUT), torch_hook_reader())
    for theirs, block, is_attention in walk_blocks(state, "blocks", SCALAR, suffix=".0"):
        if is_attention:
            key = model.attention_after[block]
            mapper.attention(theirs, f"attentions.{key}", ATTENTION_NAMES, SCALAR, SCALAR_SHAPE)
            continue
        mapper.spectral(f"{theirs}.conv2d1", f"blocks.{block}.conv1")
        mapper.spectral(f"{theirs}.conv2d2", f"blocks.{block}.conv2")
        if model.blocks[block].shortcut is not None:
            mapper.spectral(f"{theirs}.conv2d0", f"blocks.{block}.shortcut")
    mapper.spectral("linear1", "linear")
    mapper.spectral("embedding", "embedding", bias=False)
    return mapper.load([HINT])

"""Mapping the tensors of an MMGeneration SAGAN generator or discriminator into ours."""

from __future__ import annotations

from collections.abc import Mapping

from ...models import SAGANDiscriminator, SAGANGenerator
from ..core import (
    SourceState,
    StateMapper,
    build_discriminator,
    build_generator,
    gain_from_offset,
    reverse_discriminator_colors,
    reverse_generator_colors,
    torch_hook_reader,
    walk_blocks,
)
from .architecture import MMGenArchitecture

LAYOUT = "MMGeneration"
ATTENTION_NAMES = {"theta.conv": "query", "phi.conv": "key", "g.conv": "value", "o.conv": "out"}  # theirs -> ours
HINT = ("(the converter reads MMGeneration's SAGANGenerator / ProjDiscriminator with torch-style spectral norm, "
        "sn_style='torch', as in its configs/sagan files)")


def _conditional_norm(mapper: StateMapper, theirs: str, ours: str, arch: MMGenArchitecture) -> None:
    shape = mapper.shape(f"{ours}.gain.weight")  # (classes, channels), the embeddings' own layout
    tables = []
    for name in ("weight_embedding", "bias_embedding"):
        if arch.embedding_sn:
            tables.append(mapper.normalized(f"{theirs}.{name}", shape))
        else:
            tables.append(mapper.source.take(f"{theirs}.{name}.weight", shape))
    gain, bias = tables
    if gain is not None and arch.gain_offset:
        gain = gain_from_offset(gain)
    mapper.conditional_tables(ours, gain, bias)
    mapper.batchnorm_statistics(f"{theirs}.norm.running_mean", f"{theirs}.norm.running_var", f"{ours}.bn",
                                arch.bn_eps, f"{theirs}.norm.num_batches_tracked")


def convert_generator(state: Mapping, arch: MMGenArchitecture, name: str = "the generator") -> SAGANGenerator:
    """A `SAGANGenerator` whose eval-mode images equal the MMGeneration generator's (in RGB when it was BGR)."""
    model = build_generator(resolution=arch.resolution, num_classes=arch.num_classes, z_dim=arch.z_dim,
                            widths=arch.g_widths, attention=arch.g_attention, bn_eps=arch.bn_eps)
    mapper = StateMapper(model, SourceState(state, name, LAYOUT), torch_hook_reader())
    mapper.spectral("noise2feat", "linear")
    for theirs, block, is_attention in walk_blocks(state, "conv_blocks", "gamma"):
        if is_attention:
            mapper.attention(theirs, f"attentions.{model.block_resolutions[block]}", ATTENTION_NAMES, "gamma")
            continue
        ours = f"blocks.{block}"
        mapper.spectral(f"{theirs}.conv_1.conv", f"{ours}.conv1")
        mapper.spectral(f"{theirs}.conv_2.conv", f"{ours}.conv2")
        mapper.spectral(f"{theirs}.shortcut.conv", f"{ours}.shortcut")
        _conditional_norm(mapper, f"{theirs}.norm_1", f"{ours}.norm1", arch)
        _conditional_norm(mapper, f"{theirs}.norm_2", f"{ours}.norm2", arch)
    mapper.copy("to_rgb.bn.weight", "out_norm.weight")
    mapper.copy("to_rgb.bn.bias", "out_norm.bias")
    mapper.batchnorm_statistics("to_rgb.bn.running_mean", "to_rgb.bn.running_var", "out_norm", arch.bn_eps,
                                "to_rgb.bn.num_batches_tracked")
    mapper.spectral("to_rgb.conv", "out_conv")
    return mapper.load([HINT], reverse_generator_colors if arch.color_order == "bgr" else None)


def convert_discriminator(state: Mapping, arch: MMGenArchitecture) -> SAGANDiscriminator:
    """A `SAGANDiscriminator` whose eval-mode logits equal the MMGeneration one's (reading RGB when it read BGR)."""
    model = build_discriminator(resolution=arch.resolution, num_classes=arch.num_classes, widths=arch.d_widths,
                                downsample=arch.d_downsample, attention_blocks=arch.d_attention_blocks,
                                shortcut_takes_activation=arch.d_inplace_relu)
    mapper = StateMapper(model, SourceState(state, "the discriminator", LAYOUT), torch_hook_reader())
    mapper.spectral("from_rgb.conv_1.conv", "blocks.0.conv1")
    mapper.spectral("from_rgb.conv_2.conv", "blocks.0.conv2")
    mapper.spectral("from_rgb.shortcut.conv", "blocks.0.shortcut")
    for theirs, block, is_attention in walk_blocks(state, "conv_blocks", "gamma", first=1):  # from_rgb is 0
        if is_attention:
            mapper.attention(theirs, f"attentions.{model.attention_after[block]}", ATTENTION_NAMES, "gamma")
            continue
        mapper.spectral(f"{theirs}.conv_1.conv", f"blocks.{block}.conv1")
        mapper.spectral(f"{theirs}.conv_2.conv", f"blocks.{block}.conv2")
        if model.blocks[block].shortcut is not None:
            mapper.spectral(f"{theirs}.shortcut.conv", f"blocks.{block}.shortcut")
    mapper.spectral("decision", "linear")
    mapper.spectral("proj_y", "embedding", bias=False)
    return mapper.load([HINT], reverse_discriminator_colors if arch.color_order == "bgr" else None)

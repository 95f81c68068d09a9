"""Mapping the tensors of a BigGAN-PyTorch G or D into a `SAGANGenerator` or `SAGANDiscriminator`."""

from __future__ import annotations

import re
from collections.abc import Mapping

from ...models import SAGANDiscriminator, SAGANGenerator
from ..core import (
    SourceState,
    StateMapper,
    biggan_eval_vectors,
    gain_from_offset,
    tables_from_shared_embedding,
)
from .architecture import (
    BigGANArchitecture,
    check_architecture,
    discriminator_attention_sides,
    discriminator_downsample,
    discriminator_multipliers,
    generator_multipliers,
)

LAYOUT = "BigGAN-PyTorch"
OUTPUT_BN_EPS = 1e-5  # its last BatchNorm keeps this epsilon whatever BN_eps says
ATTENTION_NAMES = {"theta": "query", "phi": "key", "g": "value", "o": "out"}  # theirs -> ours
_EXTRA_SV_KEY = re.compile(r"\.(u[1-9]\d*|sv\d+)$")  # logging buffers, and vectors beyond the first
_HINTS_FLAGS = "Check --resolution, --ch, --attention_resolutions, --num_classes and --z_dim."


def _spectral_reader(sn_eps: float):
    """Their SN layer: raw `weight` and `u0`; eval mode takes one power step from u0 (see core.spectral)."""

    def read(source: SourceState, prefix: str, shape: tuple):
        weight = source.take(f"{prefix}.weight", shape)
        u0 = source.take(f"{prefix}.u0", (1, shape[0]))
        source.mark_read(key for key in source.state if key.startswith(prefix + ".") and _EXTRA_SV_KEY.search(key))
        if weight is None or u0 is None:
            return None
        return biggan_eval_vectors(weight, u0, sn_eps)

    return read


def _hints(source: SourceState) -> list[str]:
    hints = []
    if source.missing and not any(key.endswith(".u0") for key in source.state):
        hints.append("(there are no '.u0' buffers at all: the converter takes only spectral-normed runs, "
                     "G_param/D_param='SN')")
    return hints + [_HINTS_FLAGS]


def _convert_ccbn(mapper: StateMapper, theirs: str, ours: str, arch: BigGANArchitecture, shared) -> None:
    """Their CBN (gain 1 + table, or linears on the shared class embedding) as our per-class tables."""
    num_classes, width = mapper.shape(f"{ours}.gain.weight")
    if arch.g_shared:
        gain = bias = None
        if shared is not None:
            gain_weight = mapper.normalized(f"{theirs}.gain", (width, shared.shape[1]))
            bias_weight = mapper.normalized(f"{theirs}.bias", (width, shared.shape[1]))
            if gain_weight is not None:
                gain = gain_from_offset(tables_from_shared_embedding(shared, gain_weight))
            if bias_weight is not None:
                bias = tables_from_shared_embedding(shared, bias_weight)
    else:
        gain = mapper.source.take(f"{theirs}.gain.weight", (num_classes, width))
        gain = None if gain is None else gain_from_offset(gain)
        bias = mapper.source.take(f"{theirs}.bias.weight", (num_classes, width))
    mapper.conditional_tables(ours, gain, bias)
    mapper.batchnorm_statistics(f"{theirs}.stored_mean", f"{theirs}.stored_var", f"{ours}.bn", arch.bn_eps)


def convert_generator(state: Mapping, arch: BigGANArchitecture) -> SAGANGenerator:
    """A `SAGANGenerator` whose eval-mode outputs equal those of the BigGAN-PyTorch G `state`."""
    model = SAGANGenerator(
        sample_size=arch.resolution,
        num_classes=arch.num_classes,
        z_dim=arch.z_dim,
        ch=arch.g_ch,
        channel_multipliers=generator_multipliers(arch.resolution),
        attention_resolutions=tuple(r for r in arch.g_attention if r in arch.g_block_resolutions),
        bn_eps=arch.bn_eps,
    )
    source = SourceState(state, "the generator checkpoint", LAYOUT)
    mapper = StateMapper(model, source, _spectral_reader(arch.sn_eps))
    shared = source.take("shared.weight") if arch.g_shared else None
    if shared is not None and shared.shape[0] != arch.num_classes:
        source.bad_shapes.append(f"shared.weight: expected {arch.num_classes} rows (classes), found {shared.shape[0]}")
        shared = None
    mapper.spectral("linear", "linear")
    for index, side in enumerate(model.block_resolutions):
        theirs, ours = f"blocks.{index}.0", f"blocks.{index}"
        _convert_ccbn(mapper, f"{theirs}.bn1", f"{ours}.norm1", arch, shared)
        _convert_ccbn(mapper, f"{theirs}.bn2", f"{ours}.norm2", arch, shared)
        mapper.spectral(f"{theirs}.conv1", f"{ours}.conv1")
        mapper.spectral(f"{theirs}.conv2", f"{ours}.conv2")
        mapper.spectral(f"{theirs}.conv_sc", f"{ours}.shortcut")
        if str(side) in model.attentions:
            mapper.attention(f"blocks.{index}.1", f"attentions.{side}", ATTENTION_NAMES, "gamma")
    mapper.copy("output_layer.0.gain", "out_norm.weight")
    mapper.copy("output_layer.0.bias", "out_norm.bias")
    mapper.batchnorm_statistics("output_layer.0.stored_mean", "output_layer.0.stored_var", "out_norm", OUTPUT_BN_EPS)
    mapper.spectral("output_layer.2", "out_conv")
    return mapper.load(_hints(source))


def convert_discriminator(state: Mapping, arch: BigGANArchitecture) -> SAGANDiscriminator:
    """A `SAGANDiscriminator` whose eval-mode logits equal those of the BigGAN-PyTorch D `state`."""
    check_architecture(arch, include_discriminator=True)
    model = SAGANDiscriminator(
        sample_size=arch.resolution,
        num_classes=arch.num_classes,
        ch=arch.d_ch,
        channel_multipliers=discriminator_multipliers(arch.resolution),
        # check_architecture leaves only sides that one block of theirs carries; that block's output side
        # is the same in ours, so our attention lands after the same block
        attention_resolutions=tuple(r for r in arch.d_attention if r in discriminator_attention_sides(arch.resolution)),
        downsample=discriminator_downsample(arch.resolution),
    )
    source = SourceState(state, "the discriminator checkpoint", LAYOUT)
    mapper = StateMapper(model, source, _spectral_reader(arch.sn_eps))
    for index, block in enumerate(model.blocks):
        theirs, ours = f"blocks.{index}.0", f"blocks.{index}"
        mapper.spectral(f"{theirs}.conv1", f"{ours}.conv1")
        mapper.spectral(f"{theirs}.conv2", f"{ours}.conv2")
        if block.shortcut is not None:
            mapper.spectral(f"{theirs}.conv_sc", f"{ours}.shortcut")
    for index, key in model.attention_after.items():
        mapper.attention(f"blocks.{index}.1", f"attentions.{key}", ATTENTION_NAMES, "gamma")
    mapper.spectral("linear", "linear")
    mapper.spectral("embed", "embedding", bias=False)
    return mapper.load(_hints(source))


"""The architecture of an MMGeneration SAGAN: read off the weights, plus the facts they do not show.

Widths, classes, latent size, attention placement and the kind of CBN tables come from the tensors.
The rest (BatchNorm epsilon, whether the CBN gain is 1 + table, in-place ReLU in D, colour order) comes
from the first source that has it: a flag, the config text the file may carry, the table of published
files (recognised by SHA-256), MMGeneration's own default where every published config agrees with it.
What none of them gives is refused by name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from ..core import (
    NetworkShapes,
    PublishedCheckpoint,
    child_indices,
    residual_blocks,
    tensor_shape,
)

# MMGeneration's ProjDiscriminator default down-sampling of the blocks after `from_rgb` (which always pools).
DEFAULT_DISCRIMINATOR_DOWNSAMPLE = {32: (True, False, False), 64: (True, True, True, True),
                                    128: (True, True, True, True, False)}
DEFAULT_NORM_EPS = 1e-4  # MMGeneration's default `norm_eps`
GAIN_OFFSET_INITS = ("BIGGAN", "STUDIO")  # init types with gain = 1 + table in SNConditionNorm
DEFAULT_INIT = "BigGAN"
COLOR_ORDERS = ("bgr", "rgb")


@dataclasses.dataclass(frozen=True, kw_only=True)
class MMGenArchitecture(NetworkShapes):
    """An MMGeneration SAGAN, in our terms (D block 0 is `from_rgb`)."""

    embedding_sn: bool  # CBN tables are spectral-normed embeddings
    gain_offset: bool  # CBN gain is 1 + table (BigGAN/studio initialisation)
    bn_eps: float
    color_order: str
    d_inplace_relu: bool = False


def read_generator_layout(state: Mapping) -> dict:
    """Widths, attention sides, latent size, classes and CBN table kind of a generator state dict."""
    what = "the generator state dict"
    rows, z_dim = tensor_shape(state, "noise2feat.weight_orig", what)
    blocks = residual_blocks(state, "conv_blocks", "conv_1.conv", "gamma", what=what)
    if not blocks.widths:
        raise ValueError(f"{what} has no residual blocks (conv_blocks.N.conv_1)")
    norm = f"conv_blocks.{child_indices(state, 'conv_blocks')[0]}.norm_1"
    if f"{norm}.weight_embedding.weight_orig" in state:
        embedding_sn, table = True, f"{norm}.weight_embedding.weight_orig"
    elif f"{norm}.weight_embedding.weight" in state:
        embedding_sn, table = False, f"{norm}.weight_embedding.weight"
    else:
        raise ValueError(f"{what} has no class-conditional BatchNorm ({norm}.weight_embedding): the converter "
                         "takes class-conditional SAGAN generators")
    return dict(resolution=4 * 2 ** len(blocks.widths), num_classes=int(state[table].shape[0]), z_dim=z_dim,
                g_widths=(rows // 16, *blocks.widths), g_attention=tuple(8 * 2**i for i in blocks.attention_after),
                embedding_sn=embedding_sn)


def read_discriminator_layout(state: Mapping, resolution: int, downsample) -> dict:
    """Widths, down-sampling and attention blocks of a ProjDiscriminator state dict (`from_rgb` is block 0)."""
    what = "the discriminator state dict"
    widths = [tensor_shape(state, "from_rgb.conv_1.conv.weight_orig", what)[0]]
    blocks = residual_blocks(state, "conv_blocks", "conv_1.conv", "gamma", "shortcut.conv", what=what)
    widths.extend(blocks.widths)
    if isinstance(downsample, Mapping):  # a config's per-scale table
        downsample = downsample.get(resolution)
    if downsample is None:
        if resolution not in DEFAULT_DISCRIMINATOR_DOWNSAMPLE:
            raise ValueError(f"MMGeneration has no default discriminator down-sampling for {resolution}x{resolution}")
        downsample = DEFAULT_DISCRIMINATOR_DOWNSAMPLE[resolution]
    downsample = tuple(bool(d) for d in downsample)
    if len(downsample) != len(blocks.widths):
        raise ValueError(f"{what} has {len(blocks.widths)} blocks after from_rgb, its down-sampling lists {len(downsample)}")
    for block, (pools, has_shortcut) in enumerate(zip(downsample, blocks.shortcuts), start=1):
        if has_shortcut != (pools or widths[block] != widths[block - 1]):
            raise ValueError(f"{what}: block {block}'s shortcut conv does not fit MMGeneration's down-sampling "
                             f"{list(downsample)} for {resolution}x{resolution} (a shortcut conv exists exactly "
                             "where a block pools or changes width)")
    return dict(d_widths=tuple(widths), d_downsample=(True, *downsample),
                d_attention_blocks=tuple(index + 1 for index in blocks.attention_after))


def _config_part(config: Mapping | None, network: str) -> Mapping | None:
    model = config.get("model") if config else None
    part = model.get(network) if isinstance(model, Mapping) else None
    return part if isinstance(part, Mapping) else None


def resolve_facts(overrides: Mapping, config: Mapping | None, published: PublishedCheckpoint | None,
                  include_discriminator: bool) -> tuple[dict, dict]:
    """(facts, where each came from) for bn_eps, gain_offset, d_inplace_relu, color_order and D down-sampling."""
    generator, discriminator = _config_part(config, "generator"), _config_part(config, "discriminator")
    known = published.facts if published is not None else {}
    facts, origin = {}, {}

    def settle(name, flag, from_config, from_table, default=None, default_origin=None):
        for value, where in ((flag, "flag"), (from_config, "the file's config"), (from_table, "published table"),
                             (default, default_origin)):
            if value is not None:
                facts[name], origin[name] = value, where
                return

    # a config that names a network but leaves a setting out means MMGeneration's default for it
    config_eps = float(generator.get("norm_eps", DEFAULT_NORM_EPS)) if generator is not None else None
    settle("bn_eps", overrides.get("bn_eps"), config_eps, known.get("bn_eps"))
    init = str((generator.get("init_cfg") or {}).get("type", DEFAULT_INIT)).upper() if generator is not None else None
    settle("gain_offset", None, None if init is None else init in GAIN_OFFSET_INITS, None,
           True, "MMGeneration's default (BigGAN initialisation)")
    settle("color_order", overrides.get("color_order"), None, known.get("color_order"), "bgr",
           "MMGeneration's data pipelines (BGR)")
    if include_discriminator:
        act = (discriminator or {}).get("act_cfg") or {}
        settle("d_inplace_relu", overrides.get("discriminator_inplace_relu"),
               bool(act.get("inplace", False)) if discriminator is not None else None,
               known.get("discriminator_inplace_relu"))
        settle("d_downsample", None, (discriminator or {}).get("downsample_cfg"), None)
    missing = []
    if "bn_eps" not in facts:
        missing.append("the BatchNorm epsilon (--bn_eps; MMGeneration's default is 1e-4, its BigGAN-schedule "
                       "config uses 1e-5)")
    if include_discriminator and "d_inplace_relu" not in facts:
        missing.append("whether D's ReLU was in place (--discriminator_inplace_relu for the wReLUinplace configs, "
                       "--no-discriminator_inplace_relu otherwise; or --no_discriminator)")
    if missing:
        raise ValueError("This MMGeneration checkpoint is not a published one and carries no config, so it does not "
                         "record " + "; nor ".join(missing))
    return facts, origin

"""The architecture of a StudioGAN SAGAN (src/models/resnet.py), read off its weights.

Widths, classes, latent size, attention placement and the CBN format come from the tensors; the rest
is fixed by StudioGAN's code: BatchNorm eps 1e-4, spectral-norm eps 1e-6, in-place ReLU (so D's
shortcut sees relu(x)), RGB images, and D's down-sampling table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from ..core import NetworkShapes, child_indices, residual_blocks, tensor_shape

BN_EPS = 1e-4
SN_EPS = 1e-6
# Which D blocks pool, by resolution (its `d_down` table).
DISCRIMINATOR_DOWNSAMPLE = {
    32: (True, True, False, False),
    64: (True, True, True, True, False),
    128: (True, True, True, True, True, False),
    256: (True, True, True, True, True, True, False),
}
# The three class-conditional BatchNorm formats of its history (see core.cbn).
CBN_ONEHOT_LINEAR = "onehot_linear"  # since 2022-03-06: bnN.gain / bnN.bias SN linears (C, classes)
CBN_SHARED_EMBEDDING = "shared_embedding"  # 2022-01-25 .. 03-05: `shared` (classes, d) + SN linears (C, d)
CBN_EMBEDDINGS = "embeddings"  # before: bnN.embed0 / bnN.embed1 SN embeddings (classes, C)


@dataclasses.dataclass(frozen=True, kw_only=True)
class StudioGANArchitecture(NetworkShapes):
    """A StudioGAN SAGAN, in our terms."""

    cbn_format: str


def _cbn_format(state: Mapping, norm: str) -> tuple[str, int]:
    """(format, number of classes) of the conditional BN at `norm` (e.g. "blocks.0.0.bn1")."""
    if f"{norm}.embed0.weight_orig" in state:
        return CBN_EMBEDDINGS, int(state[f"{norm}.embed0.weight_orig"].shape[0])
    if f"{norm}.gain.weight_orig" in state:
        if "shared.weight" in state:
            return CBN_SHARED_EMBEDDING, int(state["shared.weight"].shape[0])
        return CBN_ONEHOT_LINEAR, int(state[f"{norm}.gain.weight_orig"].shape[1])
    raise ValueError(f"the generator has no spectral-normed class-conditional BatchNorm at {norm} (gain or embed0 "
                     "with weight_orig): the converter takes StudioGAN's conditional SAGAN (g_cond_mtd cBN, apply_g_sn)")


def read_generator_layout(state: Mapping) -> dict:
    what = "the generator"
    rows, z_dim = tensor_shape(state, "linear0.weight_orig", what)
    blocks = residual_blocks(state, "blocks", "conv2d1", "sigma", suffix=".0", what=what)
    if not blocks.widths:
        raise ValueError(f"{what} has no GenBlocks (blocks.N.0.conv2d1)")
    cbn_format, num_classes = _cbn_format(state, f"blocks.{child_indices(state, 'blocks')[0]}.0.bn1")
    return dict(resolution=4 * 2 ** len(blocks.widths), num_classes=num_classes, z_dim=z_dim,
                g_widths=(rows // 16, *blocks.widths), g_attention=tuple(8 * 2**i for i in blocks.attention_after),
                cbn_format=cbn_format)


def read_discriminator_layout(state: Mapping, resolution: int) -> dict:
    if resolution not in DISCRIMINATOR_DOWNSAMPLE:
        raise ValueError(f"StudioGAN has no discriminator for {resolution}x{resolution}")
    blocks = residual_blocks(state, "blocks", "conv2d1", "sigma", "conv2d0", suffix=".0", what="the discriminator")
    widths, downsample = blocks.widths, DISCRIMINATOR_DOWNSAMPLE[resolution]
    if len(widths) != len(downsample):
        raise ValueError(f"the discriminator has {len(widths)} residual blocks; StudioGAN's {resolution}x{resolution} "
                         f"one has {len(downsample)} (is it the discriminator of this generator?)")
    for block in range(1, len(widths)):
        if blocks.shortcuts[block] != (downsample[block] or widths[block] != widths[block - 1]):
            raise ValueError(f"the discriminator's block {block} shortcut conv does not fit StudioGAN's "
                             f"{resolution}x{resolution} down-sampling {list(downsample)}")
    return dict(d_widths=widths, d_downsample=downsample, d_attention_blocks=blocks.attention_after)

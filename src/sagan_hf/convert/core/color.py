"""Colour order: a network trained on BGR images, turned into one that reads and writes RGB.

Reversing the channel order of the generator's last conv (its rows, bias and u vector) makes it write
RGB; reversing the input channels of the discriminator's first conv and first shortcut conv (and the
matching entries of their v vectors) makes it read RGB. sigma = u^T W v is unchanged by a permutation
applied to W and to the vector on the same side, so spectral norm is unaffected: the outputs are those
of the original network with the channels of its images reversed.
"""

from __future__ import annotations

_REVERSED = [2, 1, 0]


def _reverse_input_channels(state: dict, prefix: str) -> None:
    weight_key = f"{prefix}.parametrizations.weight.original"
    v_key = f"{prefix}.parametrizations.weight.0._v"
    weight = state[weight_key]
    state[weight_key] = weight[:, _REVERSED].contiguous()
    # v indexes the columns of weight.reshape(rows, -1): input channel first, then the kernel positions
    state[v_key] = state[v_key].reshape(weight.shape[1], -1)[_REVERSED].reshape(-1).contiguous()


def reverse_generator_colors(state: dict) -> None:
    """Make a SAGANGenerator state dict write its output channels in reverse order (BGR <-> RGB), in place."""
    for key in ("out_conv.parametrizations.weight.original", "out_conv.parametrizations.weight.0._u",
                "out_conv.bias"):
        state[key] = state[key][_REVERSED].contiguous()


def reverse_discriminator_colors(state: dict) -> None:
    """Make a SAGANDiscriminator state dict read its input channels in reverse order, in place."""
    _reverse_input_channels(state, "blocks.0.conv1")
    _reverse_input_channels(state, "blocks.0.shortcut")


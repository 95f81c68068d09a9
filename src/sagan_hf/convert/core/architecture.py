"""Reading a network's shape off its state dict, in our config's terms."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence


def child_indices(state: Mapping, prefix: str) -> list[int]:
    """The sorted numbers n of the keys `<prefix>.<n>.…` (the entries of a ModuleList)."""
    pattern = re.compile(rf"{re.escape(prefix)}\.(\d+)\.")
    return sorted({int(match.group(1)) for key in state if (match := pattern.match(key))})


@dataclasses.dataclass(frozen=True, kw_only=True)
class NetworkShapes:
    """What a source network's weights show, in our terms (each source adds the facts it needs)."""

    resolution: int
    num_classes: int
    z_dim: int
    g_widths: tuple[int, ...]  # the 4x4 input, then each up-block's output
    g_attention: tuple[int, ...]  # feature-map sides followed by attention in G
    d_widths: tuple[int, ...] = ()  # each D block's output
    d_downsample: tuple[bool, ...] = ()  # whether each D block pools
    d_attention_blocks: tuple[int, ...] = ()  # D blocks followed by attention


def walk_blocks(state: Mapping, container: str, attention_scalar: str, suffix: str = "", first: int = 0):
    """Yield (prefix, block number, is_attention) over `<container>.<n><suffix>` in order.

    Residual blocks are numbered from `first` on; an attention block (it holds `attention_scalar`)
    carries the number of the residual block before it.
    """
    block = first - 1
    for index in child_indices(state, container):
        prefix = f"{container}.{index}{suffix}"
        is_attention = f"{prefix}.{attention_scalar}" in state
        block += 0 if is_attention else 1
        yield prefix, block, is_attention


@dataclasses.dataclass(frozen=True)
class BlockList:
    """The residual blocks of a ModuleList, in order, and where attention blocks sit between them."""

    widths: tuple[int, ...]  # output width of each residual block
    shortcuts: tuple[bool, ...]  # whether each residual block has a shortcut conv
    attention_after: tuple[int, ...]  # for each attention block, the index of the residual block before it (-1: none)


def residual_blocks(state: Mapping, container: str, conv: str, attention_scalar: str, shortcut: str | None = None,
                    suffix: str = "", what: str = "the network") -> BlockList:
    """The blocks of `<container>.<n><suffix>`: a residual block has `<conv>.weight_orig` (its output width
    is that weight's rows), an attention block has `<attention_scalar>`; `shortcut` names the optional
    shortcut conv of a residual block (relative to the block, like `conv`)."""
    widths, shortcuts, attention_after = [], [], []
    for prefix, block, is_attention in walk_blocks(state, container, attention_scalar, suffix):
        if is_attention:
            attention_after.append(block)
        elif f"{prefix}.{conv}.weight_orig" in state:
            widths.append(int(state[f"{prefix}.{conv}.weight_orig"].shape[0]))
            shortcuts.append(shortcut is not None and f"{prefix}.{shortcut}.weight_orig" in state)
        else:
            raise ValueError(f"{what}: {prefix} is neither a residual block nor an attention block")
    return BlockList(tuple(widths), tuple(shortcuts), tuple(attention_after))


def split_widths(widths: Sequence[int]) -> tuple[int, tuple[int, ...]]:
    """(ch, channel_multipliers) for a list of block widths: ch is their greatest common divisor."""
    ch = math.gcd(*widths)
    return ch, tuple(width // ch for width in widths)


def tensor_shape(state: Mapping, key: str, what: str) -> tuple[int, ...]:
    """The shape of `state[key]`, or a ValueError naming the key the file should have had."""
    value = state.get(key)
    if value is None or not hasattr(value, "shape"):
        raise ValueError(f"{what} has no tensor {key!r}, which every network of this layout has")
    return tuple(value.shape)


def build_generator(*, resolution: int, num_classes: int, z_dim: int, widths: Sequence[int],
                    attention: Sequence[int], bn_eps: float):
    """Our generator for a source G described by its widths (4x4 input, then each block's output)."""
    from ...models import SAGANGenerator

    ch, multipliers = split_widths(widths)
    return SAGANGenerator(sample_size=resolution, num_classes=num_classes, z_dim=z_dim, ch=ch,
                          channel_multipliers=multipliers, attention_resolutions=tuple(attention), bn_eps=bn_eps)


def build_discriminator(*, resolution: int, num_classes: int, widths: Sequence[int], downsample: Sequence[bool],
                        attention_blocks: Sequence[int], shortcut_takes_activation: bool):
    """Our discriminator for a source D described block by block, attention after the same blocks."""
    from ...models import SAGANDiscriminator

    sides, side = [], resolution
    for pools in downsample:
        side //= 2 if pools else 1
        sides.append(side)
    ch, multipliers = split_widths(widths)
    model = SAGANDiscriminator(
        sample_size=resolution, num_classes=num_classes, ch=ch, channel_multipliers=multipliers,
        attention_resolutions=tuple(sides[block] for block in attention_blocks), downsample=tuple(downsample),
        shortcut_takes_activation=shortcut_takes_activation,
    )
    if sorted(model.attention_after) != sorted(attention_blocks):
        raise ValueError(f"the discriminator has attention after blocks {list(attention_blocks)}; ours can place it "
                         "only after the first block that reaches a feature-map side")
    return model

"""The architecture of a BigGAN-PyTorch run: read from its config or its weights, merged, and checked.

Also the refusals: every option whose layout the converter cannot map raises a ValueError naming it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from ...models.modeling_sagan import DISCRIMINATOR_MULTIPLIERS, GENERATOR_MULTIPLIERS

# That code base's trainable sizes. Its width tables are ours (models/modeling_sagan.py) except at 32x32,
# where both networks are 4ch wide throughout and D pools only in its first two blocks.
RESOLUTIONS = (32, 64, 128, 256)
_WIDTHS_32 = (4, 4, 4, 4)
_D_DOWNSAMPLE_32 = (True, True, False, False)


def generator_multipliers(resolution: int) -> tuple[int, ...]:
    """G widths as multiples of G_ch: the 4x4 input, then each up-block's output."""
    return _WIDTHS_32 if resolution == 32 else GENERATOR_MULTIPLIERS[resolution]


def discriminator_multipliers(resolution: int) -> tuple[int, ...]:
    """D widths as multiples of D_ch, one per down-block."""
    return _WIDTHS_32 if resolution == 32 else DISCRIMINATOR_MULTIPLIERS[resolution]


def discriminator_downsample(resolution: int) -> tuple[bool, ...] | None:
    """Which D blocks pool (None: all but the last, our default)."""
    return _D_DOWNSAMPLE_32 if resolution == 32 else None


def discriminator_attention_sides(resolution: int) -> list[int]:
    """The side that code base files each D block under for attention (its `resolution` list).

    All but the last block are listed under their output side and the last under 4, as the block before
    it; at 32x32 every block is listed under 16, so a "16" there attaches attention after all four.
    """
    if resolution == 32:
        return [16] * 4
    num_down = len(discriminator_multipliers(resolution)) - 1
    return [resolution // 2 ** (i + 1) for i in range(num_down)] + [4]


# That code base's training defaults (its argument parser), used when neither config nor flags say.
DEFAULT_SN_EPS = 1e-8
DEFAULT_BN_EPS = 1e-5


@dataclasses.dataclass(frozen=True)
class BigGANArchitecture:
    """The architecture of a BigGAN-PyTorch run, in that code base's terms."""

    resolution: int
    g_ch: int
    d_ch: int
    num_classes: int
    z_dim: int
    g_attention: tuple[int, ...]
    d_attention: tuple[int, ...]
    g_shared: bool = False
    sn_eps: float = DEFAULT_SN_EPS
    bn_eps: float = DEFAULT_BN_EPS

    @property
    def g_block_resolutions(self) -> list[int]:
        return [8 * 2**i for i in range(len(generator_multipliers(self.resolution)) - 1)]

    @property
    def d_attention_blocks(self) -> list[int]:
        """Indices of the D blocks followed by attention in that code base."""
        sides = discriminator_attention_sides(self.resolution)
        return [index for index, side in enumerate(sides) if side in self.d_attention]


def parse_attention(value) -> tuple[int, ...]:
    """Attention sides from their "32_64" strings (or ints, or lists); "0" means none."""
    if isinstance(value, int):
        items = [value]
    elif isinstance(value, str):
        items = [item for item in re.split(r"[_,\s]+", value.strip()) if item]
    else:
        items = list(value)
    try:
        sides = {int(item) for item in items}
    except ValueError:
        raise ValueError(
            f"attention resolutions must be integers like '64' or '32_64', got {value!r}"
        ) from None
    return tuple(sorted(side for side in sides if side > 0))


def check_supported_config(config: Mapping, include_discriminator: bool = True) -> None:
    """Raise a ValueError naming every option of a BigGAN-PyTorch config that we cannot convert."""
    problems = []
    if config.get("model", "BigGAN") != "BigGAN":
        problems.append(f"model={config['model']!r} (only 'BigGAN' has this layout; BigGAN-deep differs)")
    if config.get("hier"):
        problems.append("hier=True (hierarchical z feeds z chunks into every CBN; our CBN is class-only)")
    if config.get("mybn"):
        problems.append("mybn=True (its standing statistics depend on a flag the checkpoint does not record)")
    if config.get("cross_replica"):
        problems.append("cross_replica=True (synchronised BatchNorm keys)")
    if config.get("norm_style", "bn") != "bn":
        problems.append(f"norm_style={config['norm_style']!r} (only 'bn')")
    for key in ("G_param", "D_param") if include_discriminator else ("G_param",):
        if config.get(key, "SN") != "SN":
            problems.append(f"{key}={config[key]!r} (only spectral-normed 'SN' networks)")
    if include_discriminator and not config.get("D_wide", True):
        problems.append("D_wide=False (the thin SN-GAN discriminator)")
    if problems:
        raise ValueError(
            "This BigGAN-PyTorch run uses options the converter does not support: " + "; ".join(problems)
        )


def architecture_fields_from_config(config: Mapping, include_discriminator: bool = True) -> dict:
    """The architecture fields that a BigGAN-PyTorch `config` dict gives (only those present)."""
    check_supported_config(config, include_discriminator)
    fields = {}
    for ours, theirs, cast in (
        ("resolution", "resolution", int),
        ("num_classes", "n_classes", int),
        ("g_ch", "G_ch", int),
        ("d_ch", "D_ch", int),
        ("z_dim", "dim_z", int),
        ("g_attention", "G_attn", parse_attention),
        ("d_attention", "D_attn", parse_attention),
        ("g_shared", "G_shared", bool),
        ("sn_eps", "SN_eps", float),
        ("bn_eps", "BN_eps", float),
    ):
        if theirs in config:
            fields[ours] = cast(config[theirs])
    return fields


def _block_indices(state: Mapping, suffix: str) -> list[int]:
    found = (re.fullmatch(rf"blocks\.(\d+)\.{suffix}", key) for key in state)
    return sorted(int(match.group(1)) for match in found if match)


def infer_architecture_fields(generator_state: Mapping, discriminator_state: Mapping | None) -> dict:
    """Architecture fields read off the tensors' names and shapes (used where no config or flag says)."""
    fields = {}
    num_blocks = len(_block_indices(generator_state, r"0\.conv1\.weight"))
    if num_blocks == 0:
        return fields
    resolution = 4 * 2**num_blocks
    fields["resolution"] = resolution
    fields["g_shared"] = "shared.weight" in generator_state
    if "linear.weight" in generator_state:
        fields["z_dim"] = int(generator_state["linear.weight"].shape[1])
    gain_key = "blocks.0.0.bn1.gain.weight"
    if fields["g_shared"] and gain_key in generator_state:
        if generator_state[gain_key].shape[1] != generator_state["shared.weight"].shape[1]:
            raise ValueError(
                "This BigGAN-PyTorch run uses hier=True (its CBN layers take z chunks besides the class "
                "embedding), which the converter does not support"
            )
    classes_key = "shared.weight" if fields["g_shared"] else gain_key
    if classes_key in generator_state:
        fields["num_classes"] = int(generator_state[classes_key].shape[0])
    if resolution in RESOLUTIONS and "output_layer.2.weight" in generator_state:
        last_width = int(generator_state["output_layer.2.weight"].shape[1])
        fields["g_ch"] = last_width // generator_multipliers(resolution)[-1]
    fields["g_attention"] = tuple(8 * 2**i for i in _block_indices(generator_state, r"1\.gamma"))
    if discriminator_state is not None and resolution in RESOLUTIONS:
        if "blocks.0.0.conv1.weight" in discriminator_state:
            first_width = int(discriminator_state["blocks.0.0.conv1.weight"].shape[0])
            fields["d_ch"] = first_width // discriminator_multipliers(resolution)[0]
        sides = discriminator_attention_sides(resolution)
        fields["d_attention"] = tuple(
            sorted({sides[i] for i in _block_indices(discriminator_state, r"1\.gamma") if i < len(sides)})
        )
    return fields


def resolve_architecture(
    config: Mapping | None,
    overrides: Mapping,
    generator_state: Mapping,
    discriminator_state: Mapping | None,
    include_discriminator: bool = True,
) -> BigGANArchitecture:
    """Merge the sources of the architecture: explicit overrides > the run's config > the weights' shapes."""
    fields = infer_architecture_fields(generator_state, discriminator_state)
    if config is not None:
        fields.update(architecture_fields_from_config(config, include_discriminator))
    given = {key: value for key, value in overrides.items() if value is not None}
    if "ch" in given:  # one flag sets both networks' base width
        ch = int(given.pop("ch"))
        given.update(g_ch=ch, d_ch=ch)
    if "attention_resolutions" in given:
        sides = parse_attention(given.pop("attention_resolutions"))
        given.update(g_attention=sides, d_attention=sides)
    fields.update(given)
    if not include_discriminator:
        fields.setdefault("d_ch", fields.get("g_ch", 1))
        fields.setdefault("d_attention", ())
    if "resolution" in fields:
        _check_resolution(fields["resolution"])
    required = ("resolution", "g_ch", "d_ch", "num_classes", "z_dim", "g_attention", "d_attention")
    missing = [name for name in required if name not in fields]
    if missing:
        raise ValueError(
            f"Could not determine {', '.join(missing)} of the BigGAN-PyTorch run from state_dict.pth or the "
            "weights; pass them as arguments (--resolution, --ch, --num_classes, --z_dim, "
            "--attention_resolutions)"
        )
    names = {field.name for field in dataclasses.fields(BigGANArchitecture)}
    arch = BigGANArchitecture(**{name: value for name, value in fields.items() if name in names})
    check_architecture(arch, include_discriminator)
    return arch


def _check_resolution(resolution: int) -> None:
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution {resolution} is not one of BigGAN-PyTorch's trainable sizes {list(RESOLUTIONS)}")


def check_architecture(arch: BigGANArchitecture, include_discriminator: bool) -> None:
    """Raise a ValueError if `arch` (with or without its D) is one the converter cannot map to ours."""
    _check_resolution(arch.resolution)
    if not include_discriminator:
        return
    sides = discriminator_attention_sides(arch.resolution)
    for side in arch.d_attention:
        count = sides.count(side)
        if count > 1:
            raise ValueError(
                f"D attention at {side}x{side} is not supported at {arch.resolution}x{arch.resolution}: that code "
                f"base attaches it after {count} blocks, ours after one; convert the generator alone "
                "(include_discriminator=False, or --no_discriminator on the command line)"
            )

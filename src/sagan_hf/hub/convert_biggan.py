"""Convert a SAGAN-configured run of the BigGAN-PyTorch code base (ajbrock/BigGAN-PyTorch) to our models.

The format read here (all names as they appear in the `.pth` state dicts; C is a block's width)
-----------------------------------------------------------------------------------------------
A run folder holds `G.pth`, `D.pth` (plain `state_dict()`s), optionally `G_ema.pth` (same keys as
`G.pth`: the running average of G, buffers included) and `state_dict.pth`, a dict with counters and a
`config` dict of the training flags (`resolution`, `G_ch`, `D_ch`, `G_attn`, `D_attn` as strings like
"64" or "32_64" ("0" = none), `n_classes`, `dim_z`, `G_shared`, `shared_dim`, `hier`, `SN_eps`,
`BN_eps`, ...). That config also holds `torch.nn.ReLU` objects; only that class is allow-listed when it
is read with `weights_only=True`.

Spectral-norm layers (convs, linears, D's embedding) keep the raw `weight`, a `bias` where the layer
has one, a buffer `u0` of shape (1, rows of the weight matrix) and a logging buffer `sv0` (1,); runs
with several tracked singular values add `u1`, `sv1`, ... which never change the output. The weight
matrix is `weight.view(out, -1)`. In eval mode the layer does ONE power-iteration step from the
stored `u0` without writing it back: v = normalize(u0 W), u = normalize(v W^T), sigma = v W^T u^T,
and uses weight / sigma. `normalize` divides by max(norm, SN_eps). We store that u and v in torch's
spectral-norm parametrisation, whose eval mode computes sigma = u^T W v from the stored vectors
without iterating: the same sigma, so the same outputs.

Generator (`blocks.i.0` is the residual up-block i, output side 8 * 2**i; `blocks.i.1` the attention
that follows it, only where G_attn names that side):
- `linear`: SN linear dim_z -> 16 * widths[0] (the 4x4 input map, channel-major).
- `blocks.i.0.conv1`, `.conv2` (SN 3x3, bias), `.conv_sc` (SN 1x1, bias).
- `blocks.i.0.bn1`, `.bn2`: class-conditional BN: `gain.weight` and `bias.weight` of shape
  (n_classes, C) (plain embeddings when G_shared is off), `stored_mean`, `stored_var` (C,); eval:
  batch_norm with the stored statistics and eps BN_eps, times (1 + gain[y]), plus bias[y].
  With G_shared on, `shared.weight` is an (n_classes, shared_dim) embedding and `gain`, `bias` are SN
  linears without bias, weight (C, shared_dim): their per-class values are linear in the class
  embedding, so they fold exactly into (n_classes, C) tables: shared.weight @ (W / sigma)^T.
- `blocks.i.1.theta`, `.phi` (SN 1x1 C -> C/8), `.g` (C -> C/2), `.o` (C/2 -> C), all without bias,
  and the scalar `gamma`: phi and g are 2x2 max-pooled, softmax over keys of theta^T phi without
  scaling, output x + gamma * o(...).
- `output_layer.0`: BN with `gain`, `bias`, `stored_mean`, `stored_var` (C,), eps 1e-5;
  `output_layer.2`: SN 3x3 conv C -> 3 with bias; then tanh.

Discriminator (`blocks.i.0` the residual down-block i, `blocks.i.1` its attention):
- `blocks.i.0.conv1`, `.conv2` (SN 3x3), `.conv_sc` (SN 1x1, when the width changes or it pools);
  every block but the last halves the side; the first block is not pre-activated.
- `linear`: SN linear C -> 1; `embed`: SN embedding (n_classes, C), `u0` of shape (1, n_classes).

Mapping to ours: `blocks.i.0.{conv1,conv2,conv_sc,bn1,bn2}` -> `blocks.i.{conv1,conv2,shortcut,norm1,
norm2}`; `blocks.i.1.{theta,phi,g,o,gamma}` -> `attentions.<side>.{query,key,value,out,gamma}`;
`output_layer.0` -> `out_norm`, `output_layer.2` -> `out_conv`; D `embed` -> `embedding`. Our CBN gain
table is 1 + theirs; our BNs use eps 1e-5, so a different BN_eps is moved into the stored variance
(var + BN_eps - 1e-5), which leaves var + eps unchanged.

Not convertible (refused with an error that names the option): hierarchical z (`hier`), `mybn` or
`cross_replica` BatchNorm, norm styles other than "bn", G_param/D_param other than "SN", the thin D
(`D_wide` off), BigGAN-deep, attention at 4x4 in D, and D at 32x32 (its down-sampling differs from
ours; convert G alone with `include_discriminator=False`).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Mapping
from pathlib import Path

import torch
import torch.nn.functional as F

from sagan_hf.models import SAGANDiscriminator, SAGANGenerator

logger = logging.getLogger(__name__)

# Widths as multiples of ch in that code base: G lists the 4x4 input and each up-block's output,
# D each down-block's output. Their 32x32 D pools only twice, unlike ours.
BIGGAN_G_MULTIPLIERS = {
    32: (4, 4, 4, 4),
    64: (16, 16, 8, 4, 2),
    128: (16, 16, 8, 4, 2, 1),
    256: (16, 16, 8, 8, 4, 2, 1),
}
BIGGAN_D_MULTIPLIERS = {
    64: (1, 2, 4, 8, 16),
    128: (1, 2, 4, 8, 16, 16),
    256: (1, 2, 4, 8, 8, 16, 16),
}

# That code base's training defaults (its argument parser), used when neither config nor flags say.
DEFAULT_SN_EPS = 1e-8
DEFAULT_BN_EPS = 1e-5
OUR_BN_EPS = 1e-5

GENERATOR_FILES = ("G_ema.pth", "G.pth")  # in order of preference
DISCRIMINATOR_FILE = "D.pth"
STATE_FILE = "state_dict.pth"

ATTENTION_NAMES = {"theta": "query", "phi": "key", "g": "value", "o": "out"}
_EXTRA_SV_KEY = re.compile(r"\.(u[1-9]\d*|sv\d+)$")  # logging buffers, and vectors beyond the first


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
        return [8 * 2**i for i in range(len(BIGGAN_G_MULTIPLIERS[self.resolution]) - 1)]

    @property
    def d_block_resolutions(self) -> list[int]:
        num_down = len(BIGGAN_D_MULTIPLIERS[self.resolution]) - 1
        return [self.resolution // 2 ** (i + 1) for i in range(num_down)] + [4]


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
    if resolution in BIGGAN_G_MULTIPLIERS and "output_layer.2.weight" in generator_state:
        last_width = int(generator_state["output_layer.2.weight"].shape[1])
        fields["g_ch"] = last_width // BIGGAN_G_MULTIPLIERS[resolution][-1]
    fields["g_attention"] = tuple(8 * 2**i for i in _block_indices(generator_state, r"1\.gamma"))
    if discriminator_state is not None and resolution in BIGGAN_D_MULTIPLIERS:
        if "blocks.0.0.conv1.weight" in discriminator_state:
            first_width = int(discriminator_state["blocks.0.0.conv1.weight"].shape[0])
            fields["d_ch"] = first_width // BIGGAN_D_MULTIPLIERS[resolution][0]
        num_down = len(BIGGAN_D_MULTIPLIERS[resolution]) - 1
        sides = [resolution // 2 ** (i + 1) for i in range(num_down)] + [4]
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
        _check_resolution(fields["resolution"], include_discriminator)
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
    _check_architecture(arch, include_discriminator)
    return arch


def _check_resolution(resolution: int, include_discriminator: bool) -> None:
    if resolution not in BIGGAN_G_MULTIPLIERS:
        raise ValueError(
            f"resolution {resolution} is not one of BigGAN-PyTorch's trainable sizes "
            f"{sorted(BIGGAN_G_MULTIPLIERS)}"
        )
    if include_discriminator and resolution not in BIGGAN_D_MULTIPLIERS:
        raise ValueError(
            f"BigGAN-PyTorch's {resolution}x{resolution} discriminator down-samples differently from ours "
            "and cannot be converted; convert the generator alone (include_discriminator=False, or "
            "--no_discriminator on the command line)"
        )


def _check_architecture(arch: BigGANArchitecture, include_discriminator: bool) -> None:
    _check_resolution(arch.resolution, include_discriminator)
    if include_discriminator and 4 in arch.d_attention:
        raise ValueError(
            "D attention at 4x4 is not supported: that code base attaches it to both 4x4 blocks, our "
            "discriminator has no attention after its last block"
        )


@torch.no_grad()
def biggan_eval_singular_vectors(weight: torch.Tensor, u0: torch.Tensor, eps: float):
    """One power-iteration step from the stored `u0`, as that code base does in eval mode.

    Returns `(u, v, sigma)` with u of shape (rows,), v of shape (columns,) of `weight.view(rows, -1)`:
    its eval forward uses `weight / sigma`, and sigma equals u^T W v. Computed in float64.
    """
    matrix = weight.reshape(weight.shape[0], -1).double()
    v = F.normalize(u0.reshape(1, -1).double() @ matrix, eps=eps)
    u = F.normalize(v @ matrix.t(), eps=eps)
    sigma = ((v @ matrix.t()) @ u.t()).squeeze()
    return u.squeeze(0), v.squeeze(0), sigma


class _SourceState:
    """A source state dict read key by key, collecting every missing key, bad shape and unused key."""

    def __init__(self, state: Mapping, name: str):
        self.name = name
        self.state = state
        self.used: set[str] = set()
        self.missing: list[str] = []
        self.bad_shapes: list[str] = []

    def take(self, key: str, shape=None) -> torch.Tensor | None:
        if key not in self.state:
            self.missing.append(key)
            return None
        self.used.add(key)
        tensor = self.state[key]
        if not isinstance(tensor, torch.Tensor):
            self.bad_shapes.append(f"{key}: expected a tensor, found {type(tensor).__name__}")
            return None
        if shape is not None and tuple(tensor.shape) != tuple(shape):
            self.bad_shapes.append(f"{key}: expected shape {tuple(shape)}, found {tuple(tensor.shape)}")
            return None
        return tensor.detach().float() if tensor.is_floating_point() else tensor.detach()

    def take_sn_extras(self, prefix: str) -> None:
        """Mark the logging buffers and extra singular vectors of an SN layer as read."""
        self.used.update(
            key for key in self.state if key.startswith(prefix + ".") and _EXTRA_SV_KEY.search(key)
        )

    def raise_problems(self) -> None:
        unexpected = sorted(set(self.state) - self.used)
        if not (self.missing or self.bad_shapes or unexpected):
            return
        lines = [f"{self.name} does not match the expected BigGAN-PyTorch layout for this architecture:"]
        if self.missing:
            lines.append("  missing keys: " + ", ".join(self.missing))
        if self.bad_shapes:
            lines.append("  shape mismatches: " + "; ".join(self.bad_shapes))
        if unexpected:
            lines.append("  unexpected keys: " + ", ".join(unexpected))
        if self.missing and not any(key.endswith(".u0") for key in self.state):
            lines.append(
                "  (there are no '.u0' buffers at all: the converter takes only spectral-normed runs, "
                "G_param/D_param='SN')"
            )
        lines.append("  Check --resolution, --ch, --attention_resolutions, --num_classes and --z_dim.")
        raise ValueError("\n".join(lines))


def _convert_sn(source, theirs, ours, target, out, eps, bias=True):
    """Raw weight plus the u, v of their eval-mode power step, so our eval sigma equals theirs."""
    shape = target[f"{ours}.parametrizations.weight.original"].shape
    weight = source.take(f"{theirs}.weight", shape)
    u0 = source.take(f"{theirs}.u0", (1, shape[0]))
    source.take_sn_extras(theirs)
    if bias:
        out[f"{ours}.bias"] = source.take(f"{theirs}.bias", target[f"{ours}.bias"].shape)
    if weight is None or u0 is None:
        return
    u, v, _ = biggan_eval_singular_vectors(weight, u0, eps)
    out[f"{ours}.parametrizations.weight.original"] = weight
    out[f"{ours}.parametrizations.weight.0._u"] = u.float()
    out[f"{ours}.parametrizations.weight.0._v"] = v.float()


def _sn_effective_weight(source, prefix, shape, eps) -> torch.Tensor | None:
    """weight / sigma of one of their SN layers, as its eval forward uses it."""
    weight = source.take(f"{prefix}.weight", shape)
    u0 = source.take(f"{prefix}.u0", (1, shape[0]))
    source.take_sn_extras(prefix)
    if weight is None or u0 is None:
        return None
    _, _, sigma = biggan_eval_singular_vectors(weight, u0, eps)
    return (weight.double() / sigma).float()


def _convert_ccbn(source, theirs, ours, target, out, arch, shared):
    """Their CBN (1 + gain table) to ours (gain table), with the BN epsilon moved into the variance."""
    num_classes, width = target[f"{ours}.gain.weight"].shape
    if arch.g_shared:
        tables = {}
        for name in ("gain", "bias"):
            weight = None
            if shared is not None:  # (C, shared_dim) linears applied to the class embedding
                shape = (width, shared.shape[1])
                weight = _sn_effective_weight(source, f"{theirs}.{name}", shape, arch.sn_eps)
            tables[name] = None if weight is None else shared @ weight.t()
        gain, bias = tables["gain"], tables["bias"]
    else:
        gain = source.take(f"{theirs}.gain.weight", (num_classes, width))
        bias = source.take(f"{theirs}.bias.weight", (num_classes, width))
    mean = source.take(f"{theirs}.stored_mean", (width,))
    var = source.take(f"{theirs}.stored_var", (width,))
    out[f"{ours}.gain.weight"] = None if gain is None else 1.0 + gain
    out[f"{ours}.bias.weight"] = bias
    out[f"{ours}.bn.running_mean"] = mean
    out[f"{ours}.bn.running_var"] = None if var is None else var + (arch.bn_eps - OUR_BN_EPS)
    out[f"{ours}.bn.num_batches_tracked"] = torch.tensor(0, dtype=torch.long)


def _convert_attention(source, theirs, ours, target, out, eps):
    for their_name, our_name in ATTENTION_NAMES.items():
        _convert_sn(source, f"{theirs}.{their_name}", f"{ours}.{our_name}", target, out, eps, bias=False)
    out[f"{ours}.gamma"] = source.take(f"{theirs}.gamma", ())


def _load_into(model, converted: dict, source: _SourceState):
    source.raise_problems()
    incomplete = sorted(key for key, value in converted.items() if value is None)
    if incomplete:  # cannot happen once the source had no problems; kept as a guard
        raise ValueError(f"{source.name}: could not convert {', '.join(incomplete)}")
    model.load_state_dict(converted, strict=True)
    return model.eval()


def convert_generator(state: Mapping, arch: BigGANArchitecture) -> SAGANGenerator:
    """A `SAGANGenerator` whose eval-mode outputs equal those of the BigGAN-PyTorch G `state`."""
    model = SAGANGenerator(
        sample_size=arch.resolution,
        num_classes=arch.num_classes,
        z_dim=arch.z_dim,
        ch=arch.g_ch,
        channel_multipliers=BIGGAN_G_MULTIPLIERS[arch.resolution],
        attention_resolutions=tuple(r for r in arch.g_attention if r in arch.g_block_resolutions),
    )
    target = model.state_dict()
    source = _SourceState(state, "the generator checkpoint")
    out: dict = {}
    shared = source.take("shared.weight") if arch.g_shared else None
    if shared is not None and shared.shape[0] != arch.num_classes:
        source.bad_shapes.append(
            f"shared.weight: expected {arch.num_classes} rows (classes), found {shared.shape[0]}"
        )
        shared = None
    _convert_sn(source, "linear", "linear", target, out, arch.sn_eps)
    for index, side in enumerate(model.block_resolutions):
        theirs, ours = f"blocks.{index}.0", f"blocks.{index}"
        _convert_ccbn(source, f"{theirs}.bn1", f"{ours}.norm1", target, out, arch, shared)
        _convert_ccbn(source, f"{theirs}.bn2", f"{ours}.norm2", target, out, arch, shared)
        _convert_sn(source, f"{theirs}.conv1", f"{ours}.conv1", target, out, arch.sn_eps)
        _convert_sn(source, f"{theirs}.conv2", f"{ours}.conv2", target, out, arch.sn_eps)
        _convert_sn(source, f"{theirs}.conv_sc", f"{ours}.shortcut", target, out, arch.sn_eps)
        if str(side) in model.attentions:
            _convert_attention(source, f"blocks.{index}.1", f"attentions.{side}", target, out, arch.sn_eps)
    width = target["out_norm.weight"].shape[0]
    out["out_norm.weight"] = source.take("output_layer.0.gain", (width,))
    out["out_norm.bias"] = source.take("output_layer.0.bias", (width,))
    out["out_norm.running_mean"] = source.take("output_layer.0.stored_mean", (width,))
    out["out_norm.running_var"] = source.take("output_layer.0.stored_var", (width,))
    out["out_norm.num_batches_tracked"] = torch.tensor(0, dtype=torch.long)
    _convert_sn(source, "output_layer.2", "out_conv", target, out, arch.sn_eps)
    return _load_into(model, out, source)


def convert_discriminator(state: Mapping, arch: BigGANArchitecture) -> SAGANDiscriminator:
    """A `SAGANDiscriminator` whose eval-mode logits equal those of the BigGAN-PyTorch D `state`."""
    _check_architecture(arch, include_discriminator=True)
    model = SAGANDiscriminator(
        sample_size=arch.resolution,
        num_classes=arch.num_classes,
        ch=arch.d_ch,
        channel_multipliers=BIGGAN_D_MULTIPLIERS[arch.resolution],
        attention_resolutions=tuple(r for r in arch.d_attention if r in arch.d_block_resolutions),
    )
    target = model.state_dict()
    source = _SourceState(state, "the discriminator checkpoint")
    out: dict = {}
    for index, side in enumerate(model.block_resolutions):
        theirs, ours = f"blocks.{index}.0", f"blocks.{index}"
        _convert_sn(source, f"{theirs}.conv1", f"{ours}.conv1", target, out, arch.sn_eps)
        _convert_sn(source, f"{theirs}.conv2", f"{ours}.conv2", target, out, arch.sn_eps)
        if model.blocks[index].shortcut is not None:
            _convert_sn(source, f"{theirs}.conv_sc", f"{ours}.shortcut", target, out, arch.sn_eps)
        if str(side) in model.attentions and index < len(model.blocks) - 1:
            _convert_attention(source, f"blocks.{index}.1", f"attentions.{side}", target, out, arch.sn_eps)
    _convert_sn(source, "linear", "linear", target, out, arch.sn_eps)
    _convert_sn(source, "embed", "embedding", target, out, arch.sn_eps, bias=False)
    return _load_into(model, out, source)


def _torch_load(path: Path):
    """`torch.load` restricted to tensors and plain containers (plus nn.ReLU, which their config holds)."""
    try:
        with torch.serialization.safe_globals([torch.nn.ReLU]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # the unpickler raises several types; all mean "not a loadable checkpoint"
        raise ValueError(
            f"Could not read {path} with torch.load(weights_only=True): {str(error).splitlines()[0]}"
        ) from error


def _as_state_dict(loaded, path: Path) -> dict:
    if not isinstance(loaded, Mapping) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise ValueError(f"{path} is not a state dict (a mapping of names to tensors)")
    # A network saved while wrapped in (Distributed)DataParallel prefixes every key with "module.".
    if loaded and all(key.startswith("module.") for key in loaded):
        return {key[len("module."):]: value for key, value in loaded.items()}
    return dict(loaded)


@dataclasses.dataclass
class BigGANRun:
    """The files of a BigGAN-PyTorch weights folder, loaded."""

    generator_state: dict
    generator_file: Path
    discriminator_state: dict | None
    config: dict | None


def load_biggan_run(weights_dir: str | Path, include_discriminator: bool = True) -> BigGANRun:
    """Read `G_ema.pth` (or `G.pth`), `D.pth` and `state_dict.pth` (optional) from a run's weights folder."""
    folder = Path(weights_dir)
    if not folder.is_dir():
        raise ValueError(f"weights_dir {folder} is not a directory")
    generator_file = next((folder / name for name in GENERATOR_FILES if (folder / name).is_file()), None)
    if generator_file is None:
        raise ValueError(
            f"{folder} holds neither G_ema.pth nor G.pth: expected a BigGAN-PyTorch weights folder"
        )
    discriminator_state = None
    if include_discriminator:
        if not (folder / DISCRIMINATOR_FILE).is_file():
            raise ValueError(f"{folder} has no D.pth (convert the generator alone with --no_discriminator)")
        path = folder / DISCRIMINATOR_FILE
        discriminator_state = _as_state_dict(_torch_load(path), path)
    config = None
    if (folder / STATE_FILE).is_file():
        state = _torch_load(folder / STATE_FILE)
        if isinstance(state, Mapping) and isinstance(state.get("config"), Mapping):
            config = dict(state["config"])
        else:
            logger.warning(
                "%s has no 'config' dict; the architecture comes from arguments and the weights",
                folder / STATE_FILE,
            )
    logger.info("Converting the generator from %s", generator_file.name)
    return BigGANRun(
        generator_state=_as_state_dict(_torch_load(generator_file), generator_file),
        generator_file=generator_file,
        discriminator_state=discriminator_state,
        config=config,
    )


def convert_biggan_checkpoint(
    weights_dir: str | Path,
    output_dir: str | Path | None = None,
    *,
    resolution: int | None = None,
    ch: int | None = None,
    attention_resolutions=None,
    num_classes: int | None = None,
    z_dim: int | None = None,
    sn_eps: float | None = None,
    bn_eps: float | None = None,
    include_discriminator: bool = True,
):
    """Convert a BigGAN-PyTorch weights folder into a `SAGANPipeline` (saved to `output_dir` when given).

    The architecture comes from the given arguments, else from `state_dict.pth`'s config, else from the
    weights' names and shapes. Returns the pipeline (models in eval mode).
    """
    from sagan_hf.pipelines import SAGANPipeline  # heavy import, only needed here

    run = load_biggan_run(weights_dir, include_discriminator)
    overrides = dict(
        resolution=resolution,
        ch=ch,
        attention_resolutions=attention_resolutions,
        num_classes=num_classes,
        z_dim=z_dim,
        sn_eps=sn_eps,
        bn_eps=bn_eps,
    )
    arch = resolve_architecture(
        run.config, overrides, run.generator_state, run.discriminator_state, include_discriminator
    )
    generator = convert_generator(run.generator_state, arch)
    discriminator = convert_discriminator(run.discriminator_state, arch) if include_discriminator else None
    pipeline = SAGANPipeline(generator=generator, discriminator=discriminator)
    if output_dir is not None:
        pipeline.save_pretrained(output_dir)
    return pipeline

"""The SAGAN networks (Zhang et al., 2019) in one self-contained file.

This file is the generator's and the discriminator's code on the Hugging Face Hub as well as in the
package: a pushed repo carries it byte for byte as `generator/modeling_sagan.py` and
`discriminator/modeling_sagan.py`, so that `DiffusionPipeline.from_pretrained(repo, trust_remote_code=True)`
loads the models without sagan-hf installed. Keep it self-contained: it may import torch and diffusers
only (diffusers fetches no second file for a component loaded from a repo id).

Contents, in order: width schedules and checks; spectral norm and initialisation; conditional BatchNorm
and the residual blocks; the self-attention block; spectral-norm folding for sampling; the generator;
the discriminator.
"""

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import _SpectralNorm


# ------------------------------------------------------------------------------------------------
# Width schedules of the SAGAN/BigGAN family and checks shared by both networks.

# Generator widths as multiples of `ch`: the first entry is the 4x4 input of the first block, then one
# entry per up-block output. 128 is the SAGAN ImageNet model (1024@4..8, 512@16, 256@32, 128@64, 64@128);
# 64 and 256 follow BigGAN; 32 is the small-run schedule of the demo.
GENERATOR_MULTIPLIERS = {
    32: (4, 4, 2, 1),
    64: (16, 16, 8, 4, 2),
    128: (16, 16, 8, 4, 2, 1),
    256: (16, 16, 8, 8, 4, 2, 1),
}

# Discriminator widths per block: every block but the last halves the resolution, the last one keeps
# 4x4. 128 is SAGAN's 64, 128, 256, 512, 1024, 1024.
DISCRIMINATOR_MULTIPLIERS = {
    32: (1, 2, 4, 4),
    64: (1, 2, 4, 8, 16),
    128: (1, 2, 4, 8, 16, 16),
    256: (1, 2, 4, 8, 8, 16, 16),
}


def resolve_multipliers(sample_size: int, channel_multipliers, table: dict, net: str) -> tuple[int, ...]:
    """The width schedule for `sample_size`: the given one, checked, or the default of the table."""
    if sample_size < 8 or sample_size & (sample_size - 1):
        raise ValueError(f"{net}: sample_size must be a power of two >= 8, got {sample_size}")
    expected_length = sample_size.bit_length() - 2  # log2(sample_size / 4) + 1
    if channel_multipliers is None:
        if sample_size not in table:
            raise ValueError(
                f"{net}: no default width schedule for sample_size={sample_size} (defaults exist for "
                f"{sorted(table)}); pass channel_multipliers with {expected_length} entries"
            )
        return table[sample_size]
    multipliers = tuple(int(m) for m in channel_multipliers)
    if len(multipliers) != expected_length or min(multipliers) < 1:
        raise ValueError(
            f"{net}: channel_multipliers for sample_size={sample_size} must be {expected_length} positive "
            f"integers, got {channel_multipliers}"
        )
    return multipliers


def check_attention_resolutions(attention_resolutions, allowed: dict[int, int], net: str) -> tuple[int, ...]:
    """Validate attention placements against {resolution: channels} of the feature maps that allow one."""
    resolutions = tuple(sorted({int(r) for r in attention_resolutions}))
    for resolution in resolutions:
        if resolution not in allowed:
            raise ValueError(
                f"{net}: attention_resolutions entry {resolution} is not a feature-map size of this "
                f"network; choose from {sorted(allowed)}"
            )
        if allowed[resolution] % 8:
            raise ValueError(
                f"{net}: attention at {resolution}x{resolution} needs a width divisible by 8, "
                f"got {allowed[resolution]} channels (raise ch)"
            )
    return resolutions


# ------------------------------------------------------------------------------------------------
# Input checks shared by both networks.

def check_class_labels(class_labels: torch.Tensor | None, num_classes: int, batch_size: int, net: str) -> None:
    """Raise a ValueError that says what is wrong with `class_labels` for a model of `num_classes`."""
    if num_classes == 0:
        if class_labels is not None:
            raise ValueError(f"{net} is unconditional (num_classes=0): call it without class_labels")
        return
    if class_labels is None:
        raise ValueError(f"{net} is class-conditional ({num_classes} classes): class_labels are required")
    if class_labels.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"{net}: class_labels must be an integer tensor, got dtype {class_labels.dtype}")
    if class_labels.shape != (batch_size,):
        raise ValueError(f"{net}: class_labels must have shape ({batch_size},), got {tuple(class_labels.shape)}")
    # A value check reads values back: run it only where that is free (eager, CPU tensors), never on an
    # accelerator (a host sync per call) nor under torch.compile (a graph break).
    if class_labels.device.type == "cpu" and class_labels.numel() and not torch.compiler.is_compiling():
        low, high = int(class_labels.min()), int(class_labels.max())
        if low < 0 or high >= num_classes:
            raise ValueError(f"{net}: class labels must lie in [0, {num_classes}), got values in [{low}, {high}]")


# ------------------------------------------------------------------------------------------------
# Spectrally normalised layers (Miyato et al., 2018) and the weight initialisation of the reference code.

# The reference SAGAN/BigGAN code uses one power iteration per training step and a small epsilon.
SPECTRAL_NORM_EPS = 1e-6


class AutocastSafeSpectralNorm(_SpectralNorm):
    """torch's spectral norm, with the power iteration and sigma kept out of autocast.

    On CUDA, autocast runs `torch.mv` in bf16: u, v and sigma would only be bf16-accurate, a random
    rescaling of every weight at every step. With autocast off they stay in the weight's own dtype
    (fp32 in mixed-precision training). Same state-dict keys as torch's parametrisation.
    """

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        if weight.is_meta:  # models built empty for loading: no autocast on meta tensors, nothing to compute
            return super().forward(weight)
        with torch.autocast(weight.device.type, enabled=False):
            return super().forward(weight)


def sn(module: nn.Module) -> nn.Module:
    """Wrap `module.weight` in a spectral-norm parametrisation (one power iteration per training call)."""
    weight = module.weight
    if not weight.is_meta:
        parametrization = AutocastSafeSpectralNorm(weight, n_power_iterations=1, dim=0, eps=SPECTRAL_NORM_EPS)
        parametrize.register_parametrization(module, "weight", parametrization)
        return module
    # Built empty for loading (diffusers' default, and what device_map needs): torch's initial power
    # iterations would run op by op through Python decompositions on meta tensors, seconds per model even
    # for tiny ones. The checkpoint supplies u and v, so estimate them on a zero stand-in, then go meta.
    stand_in = torch.zeros(weight.shape, dtype=weight.dtype, device="cpu")
    parametrization = AutocastSafeSpectralNorm(stand_in, n_power_iterations=1, dim=0, eps=SPECTRAL_NORM_EPS)
    parametrize.register_parametrization(module, "weight", parametrization.to("meta"), unsafe=True)
    return module


def sn_conv2d(in_channels: int, out_channels: int, kernel_size: int = 3, bias: bool = True) -> nn.Module:
    return sn(nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=bias))


def sn_linear(in_features: int, out_features: int, bias: bool = True) -> nn.Module:
    return sn(nn.Linear(in_features, out_features, bias=bias))


def sn_embedding(num_embeddings: int, embedding_dim: int) -> nn.Module:
    return sn(nn.Embedding(num_embeddings, embedding_dim))


def is_spectral_normed(module: nn.Module) -> bool:
    parametrizations = getattr(module, "parametrizations", None)
    return parametrizations is not None and "weight" in parametrizations


def weight_to_init(module: nn.Module):
    """The tensor that initialisation must write: the raw weight under a spectral-norm parametrisation."""
    if is_spectral_normed(module):
        return module.parametrizations.weight.original
    return module.weight


def initialize_weights(model: nn.Module, init: str) -> None:
    """Initialise every conv, linear and spectral-normed embedding weight; biases start at 0.

    `xavier` (Glorot uniform) is the reference recipe; `orthogonal` is BigGAN's choice. The
    class-conditional BatchNorm tables are plain embeddings without spectral norm and keep their own
    initialisation (gain 1, bias 0).
    """
    if init not in ("xavier", "orthogonal"):
        raise ValueError(f"init must be 'xavier' or 'orthogonal', got {init!r}")
    if any(p.is_meta for p in model.parameters()):
        return  # built empty by from_pretrained: the checkpoint supplies every value
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)) or (
            isinstance(module, nn.Embedding) and is_spectral_normed(module)
        ):
            weight = weight_to_init(module)
            if init == "xavier":
                nn.init.xavier_uniform_(weight)
            else:
                nn.init.orthogonal_(weight)
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)
            if is_spectral_normed(module):
                refresh_power_iteration(module)


@torch.no_grad()
def refresh_power_iteration(module: nn.Module, iterations: int = 50) -> None:
    """Re-estimate the singular vectors u, v after the raw weight was rewritten.

    torch runs 15 power iterations when the parametrisation is registered; after a re-initialisation
    those vectors belong to the old weight, and an eval-mode forward (which does not iterate) would
    divide by a stale sigma.
    """
    parametrization = module.parametrizations.weight[0]
    weight_matrix = parametrization._reshape_weight_to_matrix(module.parametrizations.weight.original)
    parametrization._power_method(weight_matrix, iterations)


# ------------------------------------------------------------------------------------------------
# Building blocks of the SAGAN generator and discriminator: conditional BatchNorm and residual blocks.

class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm whose gain and bias are looked up per class (de Vries et al., 2017; Miyato & Koyama, 2018).

    The tables are plain embeddings (no spectral norm), gain initialised to 1 and bias to 0, as in the
    reference code. With `num_classes=0` it is an ordinary affine BatchNorm (unconditional model).
    """

    def __init__(self, num_features: int, num_classes: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.num_classes = num_classes
        self.bn = nn.BatchNorm2d(num_features, eps=eps, momentum=momentum, affine=num_classes == 0)
        if num_classes > 0:
            self.gain = nn.Embedding(num_classes, num_features)
            self.bias = nn.Embedding(num_classes, num_features)
            nn.init.ones_(self.gain.weight)
            nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, class_labels: torch.Tensor | None) -> torch.Tensor:
        out = self.bn(x)
        if self.num_classes == 0:
            return out
        gain = self.gain(class_labels).to(out.dtype)[:, :, None, None]
        bias = self.bias(class_labels).to(out.dtype)[:, :, None, None]
        return out * gain + bias


class GeneratorBlock(nn.Module):
    """Residual up-block: CBN, ReLU, nearest x2, conv3x3, CBN, ReLU, conv3x3; shortcut nearest x2 + conv1x1."""

    def __init__(self, in_channels: int, out_channels: int, num_classes: int):
        super().__init__()
        self.norm1 = ConditionalBatchNorm2d(in_channels, num_classes)
        self.conv1 = sn_conv2d(in_channels, out_channels, 3)
        self.norm2 = ConditionalBatchNorm2d(out_channels, num_classes)
        self.conv2 = sn_conv2d(out_channels, out_channels, 3)
        self.shortcut = sn_conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor, class_labels: torch.Tensor | None) -> torch.Tensor:
        h = F.relu(self.norm1(x, class_labels))
        h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = self.conv1(h)
        h = F.relu(self.norm2(h, class_labels))
        h = self.conv2(h)
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class DiscriminatorBlock(nn.Module):
    """Residual down-block of the discriminator.

    The first block (`preactivation=False`, the "optimised" block) is conv, ReLU, conv, avg-pool with an
    avg-pool + conv1x1 shortcut; later blocks pre-activate with a ReLU that must NOT be in place (it
    would also rectify the shortcut's input). The shortcut conv exists when the width changes or the
    block down-samples; otherwise the shortcut is the identity.
    """

    def __init__(self, in_channels: int, out_channels: int, downsample: bool, preactivation: bool):
        super().__init__()
        self.downsample = downsample
        self.preactivation = preactivation
        self.conv1 = sn_conv2d(in_channels, out_channels, 3)
        self.conv2 = sn_conv2d(out_channels, out_channels, 3)
        self.shortcut = (
            sn_conv2d(in_channels, out_channels, 1) if (in_channels != out_channels or downsample) else None
        )

    def _shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.shortcut is None:
            return x
        if self.preactivation:  # conv first: cheaper after the pool only when widths grow, as in the reference
            x = self.shortcut(x)
            return F.avg_pool2d(x, 2) if self.downsample else x
        x = F.avg_pool2d(x, 2) if self.downsample else x
        return self.shortcut(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(x) if self.preactivation else x
        h = self.conv1(h)
        h = self.conv2(F.relu(h))
        if self.downsample:
            h = F.avg_pool2d(h, 2)
        return h + self._shortcut(x)


# ------------------------------------------------------------------------------------------------
# The SAGAN self-attention block (Zhang et al., 2019, section 3), as in the authors' released code.

class SelfAttention2d(nn.Module):
    """Non-local attention over a feature map with 2x2 max-pooled keys and values.

    Query and key are 1x1 convs to C/8 channels, value a 1x1 conv to C/2; keys and values are max-pooled
    2x2 (so N queries attend to N/4 positions); the logits are NOT scaled by 1/sqrt(d); an output 1x1
    conv maps C/2 back to C and the result is added to the input through a learned scalar gamma that
    starts at 0, so a freshly initialised block is the identity.

    Two paths compute the same thing: the fused one (`scaled_dot_product_attention`) never builds the
    N x N/4 map and is used unless the map is asked for; the explicit one returns it.
    """

    def __init__(self, channels: int):
        super().__init__()
        if channels % 8 != 0:
            raise ValueError(f"SelfAttention2d needs a channel count divisible by 8, got {channels}")
        self.channels = channels
        self.query = sn_conv2d(channels, channels // 8, kernel_size=1, bias=False)
        self.key = sn_conv2d(channels, channels // 8, kernel_size=1, bias=False)
        self.value = sn_conv2d(channels, channels // 2, kernel_size=1, bias=False)
        self.out = sn_conv2d(channels // 2, channels, kernel_size=1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))
        self.implementation = "fused"  # or "explicit": the plain path, kept for baselines and checks

    def _project(self, x: torch.Tensor):
        # (B, N, C/8), (B, N/4, C/8), (B, N/4, C/2): positions on the sequence axis.
        query = self.query(x).flatten(2).transpose(1, 2)
        key = F.max_pool2d(self.key(x), 2).flatten(2).transpose(1, 2)
        value = F.max_pool2d(self.value(x), 2).flatten(2).transpose(1, 2)
        return query, key, value

    def forward(self, x: torch.Tensor, output_attentions: bool = False):
        """Returns `x + gamma * o`, and with `output_attentions=True` also beta of shape (B, N, N/4)."""
        batch, _, height, width = x.shape
        if height % 2 or width % 2:
            raise ValueError(f"SelfAttention2d needs even feature-map sides, got {height}x{width}")
        query, key, value = self._project(x)
        if output_attentions or self.implementation == "explicit":
            attention = torch.softmax(query @ key.transpose(1, 2), dim=-1)
            attended = attention @ value
        else:
            attention = None
            attended = F.scaled_dot_product_attention(
                query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1), scale=1.0
            ).squeeze(1)
        attended = attended.transpose(1, 2).reshape(batch, self.channels // 2, height, width)
        y = x + self.gamma * self.out(attended)
        return (y, attention) if output_attentions else y


def set_attention_implementation(model: nn.Module, implementation: str) -> None:
    """Choose the attention path of every SelfAttention2d in `model`: "fused" (default) or "explicit"."""
    if implementation not in ("fused", "explicit"):
        raise ValueError(f"attention implementation must be 'fused' or 'explicit', got {implementation!r}")
    for module in model.modules():
        if isinstance(module, SelfAttention2d):
            module.implementation = implementation


# ------------------------------------------------------------------------------------------------
# Sampling-only speed-ups: spectral-norm weights folded into plain weights.

def spectral_normed_modules(model: nn.Module) -> list[nn.Module]:
    """The modules of `model` whose `weight` carries a parametrisation (spectral norm in SAGAN)."""
    return [m for m in model.modules() if parametrize.is_parametrized(m, "weight")]


@torch.no_grad()
def fold_spectral_norm(model: nn.Module) -> nn.Module:
    """Replace every parametrised weight of `model` by its current eval-mode value, in place.

    The model is put in eval mode first (so sigma uses the stored u, v and they are not updated) and
    stays in eval mode. Returns `model` for chaining. Folding a model with nothing to fold is a no-op.
    """
    model.eval()
    for module in spectral_normed_modules(model):
        _own_parametrized_class(module)
        parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
    return model


def _own_parametrized_class(module: nn.Module) -> None:
    """Give `module` a private copy of its generated parametrised class.

    torch builds one `Parametrized<Name>` class per registration, and `copy.deepcopy` shares it between
    the original and the copy; `remove_parametrizations` deletes the `weight` property from that class,
    which would break every other copy (e.g. the model a sampling copy was made from).
    """
    cls = module.__class__
    module.__class__ = type(cls.__name__, cls.__bases__, dict(cls.__dict__))


def is_spectral_norm_folded(model: nn.Module) -> bool:
    """True when no weight of `model` is parametrised any more."""
    return not spectral_normed_modules(model)


# ------------------------------------------------------------------------------------------------
# The SAGAN generator as a diffusers model.

class SAGANGenerator(ModelMixin, ConfigMixin):
    r"""
    The SAGAN generator (Zhang et al., 2019): z -> SN linear -> 4x4 map -> residual up-blocks with
    class-conditional BatchNorm -> BN, ReLU, SN conv3x3, tanh. Self-attention follows the block whose
    output has a resolution listed in `attention_resolutions`.

    The defaults are the paper's ImageNet 128x128 model (42.0M parameters with attention at 64x64).

    Parameters:
        sample_size (`int`, defaults to 128): output image side (32, 64, 128 or 256 have default widths).
        num_classes (`int`, defaults to 1000): number of classes; 0 gives an unconditional generator.
        z_dim (`int`, defaults to 128): latent size.
        ch (`int`, defaults to 64): base width; block widths are multiples of it.
        channel_multipliers (`tuple[int]`, *optional*): widths at 4x4 and after each up-block, as
            multiples of `ch` (default: the schedule for `sample_size`).
        attention_resolutions (`tuple[int]`, defaults to `(64,)`): feature-map sides that get attention.
        init (`str`, defaults to `"xavier"`): weight initialisation, `"xavier"` (reference) or
            `"orthogonal"`.
    """

    _supports_gradient_checkpointing = False

    @register_to_config
    def __init__(
        self,
        sample_size: int = 128,
        num_classes: int = 1000,
        z_dim: int = 128,
        ch: int = 64,
        channel_multipliers: tuple[int, ...] | None = None,
        attention_resolutions: tuple[int, ...] = (64,),
        init: str = "xavier",
    ):
        super().__init__()
        if num_classes < 0 or z_dim < 1 or ch < 1:
            raise ValueError(
                f"SAGANGenerator: num_classes must be >= 0 and z_dim, ch >= 1; got num_classes={num_classes}, "
                f"z_dim={z_dim}, ch={ch}"
            )
        widths = [ch * m for m in resolve_multipliers(sample_size, channel_multipliers, GENERATOR_MULTIPLIERS, "SAGANGenerator")]
        block_resolutions = [4 * 2 ** (i + 1) for i in range(len(widths) - 1)]
        self.attention_at = check_attention_resolutions(
            attention_resolutions, dict(zip(block_resolutions, widths[1:])), "SAGANGenerator"
        )

        self.input_width = widths[0]
        self.linear = sn_linear(z_dim, 4 * 4 * widths[0])
        self.blocks = nn.ModuleList(
            GeneratorBlock(c_in, c_out, num_classes) for c_in, c_out in zip(widths[:-1], widths[1:])
        )
        self.block_resolutions = block_resolutions
        self.attentions = nn.ModuleDict(
            {str(r): SelfAttention2d(widths[1 + block_resolutions.index(r)]) for r in self.attention_at}
        )
        self.out_norm = nn.BatchNorm2d(widths[-1])
        self.out_conv = sn_conv2d(widths[-1], 3, 3)
        initialize_weights(self, init)

    def forward(
        self,
        z: torch.Tensor,
        class_labels: torch.Tensor | None = None,
        output_attentions: bool = False,
    ):
        r"""
        Args:
            z (`torch.Tensor` of shape `(B, z_dim)`): latents.
            class_labels (`torch.LongTensor` of shape `(B,)`, *optional*): classes; required for a
                class-conditional model, not allowed for an unconditional one.
            output_attentions (`bool`): also return the attention maps (explicit attention path).

        Returns:
            Images `(B, 3, H, W)` in [-1, 1]; with `output_attentions=True` a tuple `(images, attentions)`
            where `attentions` holds one `(B, N, N/4)` map per attention layer, from low to high resolution.
        """
        if z.ndim != 2 or z.shape[1] != self.config.z_dim:
            raise ValueError(f"z must have shape (batch, {self.config.z_dim}), got {tuple(z.shape)}")
        check_class_labels(class_labels, self.config.num_classes, z.shape[0], "SAGANGenerator")
        h = self.linear(z).view(z.shape[0], self.input_width, 4, 4)
        attentions = []
        for block, resolution in zip(self.blocks, self.block_resolutions):
            h = block(h, class_labels)
            if str(resolution) in self.attentions:
                h = self.attentions[str(resolution)](h, output_attentions=output_attentions)
                if output_attentions:
                    h, attention = h
                    attentions.append(attention)
        images = torch.tanh(self.out_conv(F.relu(self.out_norm(h))))
        return (images, tuple(attentions)) if output_attentions else images


# ------------------------------------------------------------------------------------------------
# The SAGAN projection discriminator as a diffusers model.

class SAGANDiscriminator(ModelMixin, ConfigMixin):
    r"""
    The SAGAN discriminator: an optimised first residual block, pre-activation down-blocks, a last block
    at 4x4 without down-sampling, ReLU, global sum pooling, an SN linear output plus the projection term
    `sum(h * embed(y))` (Miyato & Koyama, 2018). Self-attention follows the block whose output has a
    resolution listed in `attention_resolutions`.

    The defaults are the paper's ImageNet 128x128 model (39.4M parameters with attention at 64x64).

    Parameters:
        sample_size (`int`, defaults to 128): input image side.
        num_classes (`int`, defaults to 1000): number of classes; 0 drops the projection term.
        ch (`int`, defaults to 64): base width.
        channel_multipliers (`tuple[int]`, *optional*): width of each block as multiples of `ch`.
        attention_resolutions (`tuple[int]`, defaults to `(64,)`): feature-map sides that get attention.
        init (`str`, defaults to `"xavier"`): `"xavier"` (reference) or `"orthogonal"`.
    """

    @register_to_config
    def __init__(
        self,
        sample_size: int = 128,
        num_classes: int = 1000,
        ch: int = 64,
        channel_multipliers: tuple[int, ...] | None = None,
        attention_resolutions: tuple[int, ...] = (64,),
        init: str = "xavier",
    ):
        super().__init__()
        if num_classes < 0 or ch < 1:
            raise ValueError(
                f"SAGANDiscriminator: num_classes must be >= 0 and ch >= 1; got num_classes={num_classes}, ch={ch}"
            )
        widths = [ch * m for m in resolve_multipliers(sample_size, channel_multipliers, DISCRIMINATOR_MULTIPLIERS, "SAGANDiscriminator")]
        num_down = len(widths) - 1
        block_resolutions = [sample_size // 2 ** (i + 1) for i in range(num_down)] + [4]
        # The last block shares 4x4 with the one before it, so attention placements stop at 8x8.
        allowed = {r: w for r, w in zip(block_resolutions[:-1], widths[:-1]) if r >= 8}
        self.attention_at = check_attention_resolutions(attention_resolutions, allowed, "SAGANDiscriminator")

        in_widths = [3] + widths[:-1]
        self.blocks = nn.ModuleList(
            DiscriminatorBlock(c_in, c_out, downsample=i < num_down, preactivation=i > 0)
            for i, (c_in, c_out) in enumerate(zip(in_widths, widths))
        )
        self.block_resolutions = block_resolutions
        self.attentions = nn.ModuleDict(
            {str(r): SelfAttention2d(widths[block_resolutions.index(r)]) for r in self.attention_at}
        )
        self.linear = sn_linear(widths[-1], 1)
        self.embedding = sn_embedding(num_classes, widths[-1]) if num_classes > 0 else None
        initialize_weights(self, init)

    def forward(
        self,
        images: torch.Tensor,
        class_labels: torch.Tensor | None = None,
        output_attentions: bool = False,
    ):
        r"""
        Args:
            images (`torch.Tensor` of shape `(B, 3, H, W)`): images in [-1, 1].
            class_labels (`torch.LongTensor` of shape `(B,)`, *optional*): required when conditional.
            output_attentions (`bool`): also return the attention maps.

        Returns:
            Logits of shape `(B,)`; with `output_attentions=True` a tuple `(logits, attentions)`.
        """
        size = self.config.sample_size
        if images.ndim != 4 or images.shape[1:] != (3, size, size):
            raise ValueError(f"images must have shape (batch, 3, {size}, {size}), got {tuple(images.shape)}")
        check_class_labels(class_labels, self.config.num_classes, images.shape[0], "SAGANDiscriminator")
        h = images
        attentions = []
        for index, (block, resolution) in enumerate(zip(self.blocks, self.block_resolutions)):
            h = block(h)
            key = str(resolution)
            if key in self.attentions and index < len(self.blocks) - 1:
                h = self.attentions[key](h, output_attentions=output_attentions)
                if output_attentions:
                    h, attention = h
                    attentions.append(attention)
        h = F.relu(h).sum(dim=(2, 3))
        logits = self.linear(h).squeeze(1)
        if self.embedding is not None:
            logits = logits + (self.embedding(class_labels) * h).sum(dim=1)
        return (logits, tuple(attentions)) if output_attentions else logits

"""The SAGAN generator as a diffusers model."""

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from .architecture import GENERATOR_MULTIPLIERS, check_attention_resolutions, resolve_multipliers
from .attention import SelfAttention2d
from .layers import GeneratorBlock
from .spectral import initialize_weights, sn_conv2d, sn_linear
from .validation import check_class_labels


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

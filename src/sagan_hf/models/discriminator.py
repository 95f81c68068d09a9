"""The SAGAN projection discriminator as a diffusers model."""

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from .architecture import DISCRIMINATOR_MULTIPLIERS, check_attention_resolutions, resolve_multipliers
from .attention import SelfAttention2d
from .layers import DiscriminatorBlock
from .spectral import initialize_weights, sn_embedding, sn_linear
from .validation import check_class_labels


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

"""The SAGAN self-attention block (Zhang et al., 2019, section 3), as in the authors' released code."""

import torch
import torch.nn.functional as F
from torch import nn

from .spectral import sn_conv2d


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

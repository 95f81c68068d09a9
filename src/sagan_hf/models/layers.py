"""Building blocks of the SAGAN generator and discriminator: conditional BatchNorm and residual blocks."""

import torch
import torch.nn.functional as F
from torch import nn

from .spectral import sn_conv2d


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

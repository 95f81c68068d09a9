"""Where ONE query location attends, in each attention layer of a SAGAN generator.

The full attention map of a layer is N x N/4 per image (at 128x128 in a 256 px model: 16384 x 4096,
256 MiB in fp32). For one query only the query projection at that location and the pooled keys are
needed: the input feature map of each `SelfAttention2d` is recorded with a forward hook during an
ordinary (fused) generation, and the query's row of the softmax is computed from it. Works for
generators loaded from this package or as remote code (it uses the layers' own convs).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class LayerAttention:
    """One attention layer's answer for one query."""

    resolution: int  # side of the layer's feature map
    cell: tuple[int, int]  # (column, row) of the query in that map
    weights: np.ndarray  # (resolution/2, resolution/2): attention over the 2x2-pooled locations, sums to 1
    gamma: float  # the layer's learned residual scale: how much its output counts


@contextlib.contextmanager
def capture_attention_inputs(generator: nn.Module) -> Iterator[dict[int, torch.Tensor]]:
    """Within the block, forwards of `generator` record each attention layer's input, keyed by resolution."""
    captured: dict[int, torch.Tensor] = {}

    def keep_input(resolution: int):
        def hook(module, args, output):
            captured[resolution] = args[0].detach()

        return hook

    handles = [layer.register_forward_hook(keep_input(int(resolution)))
               for resolution, layer in generator.attentions.items()]
    try:
        yield captured
    finally:
        for handle in handles:
            handle.remove()


@torch.no_grad()
def attention_row(layer: nn.Module, features: torch.Tensor, point: tuple[float, float]) -> torch.Tensor:
    """The attention of the query at relative `point` (x, y) in [0, 1), shape (B, H/2, W/2).

    `features` is the layer's input (B, C, H, W). Equal to the query's row of the layer's explicit
    map: softmax over the 2x2 max-pooled keys of q . k, without 1/sqrt(d) scaling.
    """
    x, y = point
    if not (0 <= x < 1 and 0 <= y < 1):
        raise ValueError(f"the query point is relative (x, y) in [0, 1), got {point}")
    batch, _, height, width = features.shape
    row, col = int(y * height), int(x * width)
    query = layer.query(features[:, :, row:row + 1, col:col + 1]).flatten(1)  # (B, C/8): one location only
    keys = F.max_pool2d(layer.key(features), 2).flatten(2)  # (B, C/8, N/4)
    weights = torch.softmax(torch.einsum("bc,bcn->bn", query, keys).float(), dim=-1)
    return weights.reshape(batch, height // 2, width // 2)


def query_attention(generator: nn.Module, captured: dict[int, torch.Tensor], point: tuple[float, float],
                    image: int = 0) -> list[LayerAttention]:
    """Per attention layer of `generator` (low to high resolution), where the query at `point` of image
    `image` attends, from inputs recorded by `capture_attention_inputs`."""
    layers = []
    for resolution, layer in generator.attentions.items():
        resolution = int(resolution)
        if resolution not in captured:
            raise ValueError(f"no input recorded for the {resolution}x{resolution} attention layer: run the "
                             "generator inside capture_attention_inputs first")
        features = captured[resolution][image:image + 1]
        weights = attention_row(layer, features, point)[0]
        cell = (int(point[0] * resolution), int(point[1] * resolution))
        layers.append(LayerAttention(resolution, cell, weights.cpu().numpy(), float(layer.gamma.detach())))
    return layers

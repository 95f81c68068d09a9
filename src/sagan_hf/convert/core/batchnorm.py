"""BatchNorm statistics across epsilons.

In eval mode BatchNorm computes (x - mean) / sqrt(var + eps). A source layer with epsilon e_s maps onto
one of ours with epsilon e_t by storing var + e_s - e_t: var + eps, and so every output, is unchanged.
The converters give our generator the source's own epsilon (`bn_eps`), so that training mode matches
too, and use this only for a layer whose epsilon differs from the rest of its network (BigGAN-PyTorch's
output BatchNorm keeps 1e-5 whatever its `BN_eps`).
"""

from __future__ import annotations

import torch


def fold_bn_eps(running_var: torch.Tensor, source_eps: float, target_eps: float) -> torch.Tensor:
    """The running variance to store in a BatchNorm with `target_eps` to match one with `source_eps`."""
    if source_eps == target_eps:
        return running_var
    return running_var + (source_eps - target_eps)

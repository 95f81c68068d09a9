"""The spectral-norm sigma of BigGAN-PyTorch in eval mode: one power-iteration step from the stored u0."""

from __future__ import annotations

import torch
import torch.nn.functional as F


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

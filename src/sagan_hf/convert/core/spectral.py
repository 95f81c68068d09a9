"""Spectral norm: the singular vectors our parametrisation stores, from each source's own format.

Our layers use torch's `parametrizations.spectral_norm`: in eval mode the weight is W / sigma with
sigma = u^T W v from the stored `_u` (rows of W) and `_v` (columns of W.reshape(rows, -1)). Any source
whose eval sigma can be written as u^T W v converts exactly by storing that u and v next to the raw W:

- torch's older hook version (`X.weight_orig`, `X.weight_u`, `X.weight_v`; StudioGAN, MMGeneration):
  eval mode uses the stored u, v as they are; training mode first runs power iterations
  (v = normalize(W^T u), u = normalize(W v)) and stores the result. `power_iterations` folds k of them.
- BigGAN-PyTorch (`X.weight`, `X.u0`): eval mode takes one power step from u0 without storing it.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F


@dataclasses.dataclass(frozen=True)
class SpectralWeight:
    """A spectrally normalised weight: the raw W and the u, v that give its sigma = u^T W v."""

    weight: torch.Tensor
    u: torch.Tensor  # (rows,)
    v: torch.Tensor  # (columns of W.reshape(rows, -1),)

    def matrix(self) -> torch.Tensor:
        return self.weight.reshape(self.weight.shape[0], -1).double()

    def sigma(self) -> torch.Tensor:
        """u^T W v in float64: what the layer divides its weight by."""
        return self.u.double() @ self.matrix() @ self.v.double()

    def normalized(self) -> torch.Tensor:
        """W / sigma, the weight the layer computes with (float32)."""
        return (self.weight.double() / self.sigma()).float()

    def state_entries(self, prefix: str) -> dict[str, torch.Tensor]:
        """Our parametrisation's state-dict entries for the layer at `prefix`."""
        return {
            f"{prefix}.parametrizations.weight.original": self.weight.float(),
            f"{prefix}.parametrizations.weight.0._u": self.u.float(),
            f"{prefix}.parametrizations.weight.0._v": self.v.float(),
        }


@torch.no_grad()
def power_iterations(weight: torch.Tensor, u: torch.Tensor, v: torch.Tensor, steps: int, eps: float) -> SpectralWeight:
    """The vectors after `steps` training-mode updates of torch's spectral norm (0 = the stored ones).

    Each step is v = normalize(W^T u), u = normalize(W v), `normalize` dividing by max(norm, eps); the
    stored v is only used when `steps` is 0 (a training step recomputes it from u first).
    """
    if steps < 0:
        raise ValueError(f"power iterations must be >= 0, got {steps}")
    matrix = weight.reshape(weight.shape[0], -1).double()
    u, v = u.double(), v.double()
    for _ in range(steps):
        v = F.normalize(matrix.t() @ u, dim=0, eps=eps)
        u = F.normalize(matrix @ v, dim=0, eps=eps)
    return SpectralWeight(weight.float(), u.float(), v.float())


@torch.no_grad()
def biggan_eval_vectors(weight: torch.Tensor, u0: torch.Tensor, eps: float) -> SpectralWeight:
    """BigGAN-PyTorch's eval mode: one power step from the stored `u0` (shape (1, rows)), not stored back.

    v = normalize(u0 W), u = normalize(v W^T), sigma = v W^T u^T, which equals u^T W v.
    """
    matrix = weight.reshape(weight.shape[0], -1).double()
    v = F.normalize(u0.reshape(1, -1).double() @ matrix, eps=eps)
    u = F.normalize(v @ matrix.t(), eps=eps)
    return SpectralWeight(weight.float(), u.squeeze(0).float(), v.squeeze(0).float())


def torch_hook_reader(power_steps: int = 0, eps: float = 1e-12):
    """A `StateMapper` reader for torch's hook format: `X.weight_orig`, `X.weight_u`, `X.weight_v`.

    `power_steps` training-mode iterations are folded in (StudioGAN's own sampling runs one per call);
    `eps` is the source's spectral-norm epsilon, used only by those iterations.
    """

    def read(source, prefix: str, shape: tuple) -> SpectralWeight | None:
        rows, columns = shape[0], math.prod(shape[1:])
        weight = source.take(f"{prefix}.weight_orig", shape)
        u = source.take(f"{prefix}.weight_u", (rows,))
        v = source.take(f"{prefix}.weight_v", (columns,))
        if weight is None or u is None or v is None:
            return None
        return power_iterations(weight, u, v, power_steps, eps)

    return read

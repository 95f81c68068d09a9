"""Improved precision and recall (Kynkäänniemi et al. 2019) with k-nearest-neighbour manifolds."""

from __future__ import annotations

import numpy as np
import torch


def _as_tensor(features, device) -> torch.Tensor:
    array = np.asarray(features, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"features must have shape [N, D], got {array.shape}")
    return torch.from_numpy(array).to(device)


def _kth_neighbour_radii(points: torch.Tensor, k: int, chunk: int) -> torch.Tensor:
    """Distance of each point to its k-th nearest neighbour in the same set (itself excluded)."""
    radii = []
    for start in range(0, points.shape[0], chunk):
        distances = torch.cdist(points[start : start + chunk], points)
        # The smallest distance is the point itself (0), so the k-th neighbour is at index k.
        radii.append(distances.kthvalue(k + 1, dim=1).values)
    return torch.cat(radii)


def _fraction_inside(queries: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk: int) -> float:
    """Fraction of queries that fall in at least one ball (centre_i, radius_i)."""
    inside = 0
    for start in range(0, queries.shape[0], chunk):
        distances = torch.cdist(queries[start : start + chunk], centres)
        inside += int((distances <= radii.unsqueeze(0)).any(dim=1).sum())
    return inside / queries.shape[0]


def precision_recall(
    features_real, features_fake, *, k: int = 3, device: str | torch.device = "cpu", chunk: int = 1024
) -> tuple[float, float]:
    """(precision, recall): the share of fakes inside the real manifold, and of reals inside the fake one.

    Each manifold is the union of balls around its points with radius = distance to the k-th nearest
    neighbour (k=3 as in the paper). Distances are computed in float64, ``chunk`` rows at a time.
    """
    real = _as_tensor(features_real, device)
    fake = _as_tensor(features_fake, device)
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature dimensions differ: {real.shape[1]} and {fake.shape[1]}")
    if k < 1 or real.shape[0] <= k or fake.shape[0] <= k:
        raise ValueError(
            f"need k >= 1 and more than k={k} samples in each set, got {real.shape[0]} and {fake.shape[0]}"
        )
    real_radii = _kth_neighbour_radii(real, k, chunk)
    fake_radii = _kth_neighbour_radii(fake, k, chunk)
    precision = _fraction_inside(fake, real, real_radii, chunk)
    recall = _fraction_inside(real, fake, fake_radii, chunk)
    return precision, recall

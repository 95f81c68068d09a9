"""Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD^2 with the cubic polynomial kernel."""

from __future__ import annotations

import numpy as np


def _polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    # k(x, y) = (x.y / d + 1)^3
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x, y) -> float:
    """Unbiased MMD^2 between two equally sized sets [m, d] with the cubic polynomial kernel."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    m = x.shape[0]
    if y.shape[0] != m or m < 2:
        raise ValueError(
            f"mmd2_unbiased needs two sets of the same size >= 2, got {x.shape[0]} and {y.shape[0]}"
        )
    k_xx = _polynomial_kernel(x, x)
    k_yy = _polynomial_kernel(y, y)
    k_xy = _polynomial_kernel(x, y)
    off_diagonal = m * (m - 1)
    return float(
        (k_xx.sum() - np.trace(k_xx)) / off_diagonal
        + (k_yy.sum() - np.trace(k_yy)) / off_diagonal
        - 2.0 * k_xy.mean()
    )


def kernel_inception_distance(
    features_real, features_fake, *, num_subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """KID: mean and std of the unbiased MMD^2 over random subsets (without replacement in a subset).

    ``subset_size`` is capped at the size of the smaller set. Values can be slightly negative when
    the two distributions are the same: the estimator is unbiased.
    """
    real = np.asarray(features_real, dtype=np.float64)
    fake = np.asarray(features_fake, dtype=np.float64)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"features must be [N, D] arrays with the same D, got {real.shape} and {fake.shape}")
    if num_subsets < 1:
        raise ValueError(f"num_subsets must be >= 1, got {num_subsets}")
    size = min(subset_size, real.shape[0], fake.shape[0])
    if size < 2:
        raise ValueError(f"KID needs at least 2 samples in each set, got {real.shape[0]} and {fake.shape[0]}")
    rng = np.random.default_rng(seed)
    values = [
        mmd2_unbiased(
            real[rng.choice(real.shape[0], size, replace=False)],
            fake[rng.choice(fake.shape[0], size, replace=False)],
        )
        for _ in range(num_subsets)
    ]
    return float(np.mean(values)), float(np.std(values))

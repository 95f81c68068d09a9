"""Gaussian feature statistics and the Fréchet distance between them (all in float64)."""

from __future__ import annotations

import numpy as np


def _as_float64_matrix(name: str, value, dim: int | None = None) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise ValueError(f"{name} must be a square covariance matrix, got shape {array.shape}")
    if dim is not None and array.shape[0] != dim:
        raise ValueError(f"{name} must be {dim}x{dim} to match the mean, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix via eigh (negative round-off -> 0)."""
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2.0)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """tr((sigma1 sigma2)^(1/2)) for PSD matrices that need not commute.

    sigma1 sigma2 is similar to R^T sigma2 R for any R with R R^T = sigma1 (a Cholesky factor when
    sigma1 is positive definite, else the symmetric square root from eigh), and R^T sigma2 R is
    symmetric PSD: its eigenvalues, hence the trace of the square root, come from a stable
    symmetric eigensolver.
    """
    try:
        root1 = np.linalg.cholesky(sigma1)  # fast path: full-rank covariances (N > D samples)
    except np.linalg.LinAlgError:
        root1 = _psd_sqrt(sigma1)  # singular (e.g. fewer samples than dimensions)
    middle = root1.T @ sigma2 @ root1
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2.0)
    return float(np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2): the FID when fed Inception stats.

    d^2 = |mu1 - mu2|^2 + tr(sigma1) + tr(sigma2) - 2 tr((sigma1 sigma2)^(1/2)), computed in float64.
    """
    mu1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    if mu1.ndim != 1 or mu1.shape != mu2.shape:
        raise ValueError(f"mu1 and mu2 must be vectors of the same length, got {mu1.shape} and {mu2.shape}")
    if not (np.all(np.isfinite(mu1)) and np.all(np.isfinite(mu2))):
        raise ValueError("mu1 and mu2 must be finite")
    sigma1 = _as_float64_matrix("sigma1", sigma1, mu1.shape[0])
    sigma2 = _as_float64_matrix("sigma2", sigma2, mu1.shape[0])
    diff = mu1 - mu2
    distance = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt_product(sigma1, sigma2)
    return float(max(distance, 0.0))  # tiny negative values are round-off of a zero distance


class GaussianStatsAccumulator:
    """Streaming mean and covariance in float64 (Chan et al.'s batched update), memory O(d^2)."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.count = 0
        self.mean = np.zeros(dim, dtype=np.float64)
        self._scatter = np.zeros((dim, dim), dtype=np.float64)  # sum of centred outer products

    def update(self, features) -> None:
        batch = np.asarray(features, dtype=np.float64)
        if batch.ndim != 2 or batch.shape[1] != self.dim:
            raise ValueError(f"features must have shape [N, {self.dim}], got {batch.shape}")
        n = batch.shape[0]
        if n == 0:
            return
        batch_mean = batch.mean(axis=0)
        centred = batch - batch_mean
        total = self.count + n
        delta = batch_mean - self.mean
        self._scatter += centred.T @ centred + np.outer(delta, delta) * (self.count * n / total)
        self.mean += delta * (n / total)
        self.count = total

    def covariance(self) -> np.ndarray:
        """Unbiased sample covariance (ddof=1), as numpy's np.cov."""
        if self.count < 2:
            raise ValueError(f"a covariance needs at least 2 samples, got {self.count}")
        return self._scatter / (self.count - 1)


def gaussian_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """(mean, unbiased covariance) of features [N, D] in float64."""
    features = np.asarray(features)
    if features.ndim != 2:
        raise ValueError(f"features must have shape [N, D], got {features.shape}")
    accumulator = GaussianStatsAccumulator(features.shape[1])
    accumulator.update(features)
    return accumulator.mean.copy(), accumulator.covariance()


def frechet_distance_from_features(features1, features2) -> float:
    """Fréchet distance between the Gaussians fitted to two feature sets [N1, D] and [N2, D].

    Equal to ``frechet_distance(*gaussian_statistics(f1), *gaussian_statistics(f2))``, but computed in
    sample space: with centred features A1, A2, tr((S1 S2)^(1/2)) is the nuclear norm of A1 A2^T
    divided by sqrt((N1 - 1)(N2 - 1)). That costs an N1 x N2 SVD instead of D x D eigensolves,
    so it is fast and exact for small sets (per-class FID); large sets use the D x D route.
    """
    f1, f2 = np.asarray(features1), np.asarray(features2)
    if f1.ndim != 2 or f2.ndim != 2 or f1.shape[1] != f2.shape[1]:
        raise ValueError(f"features must be [N, D] arrays with the same D, got {f1.shape} and {f2.shape}")
    n1, n2, dim = f1.shape[0], f2.shape[0], f1.shape[1]
    if n1 < 2 or n2 < 2:
        raise ValueError(f"each feature set needs at least 2 samples, got {n1} and {n2}")
    if n1 * n2 > dim * dim:  # decided before any float64 copy: large sets stream through the accumulator
        return frechet_distance(*gaussian_statistics(f1), *gaussian_statistics(f2))
    f1, f2 = f1.astype(np.float64), f2.astype(np.float64)
    mu1, mu2 = f1.mean(axis=0), f2.mean(axis=0)
    a1, a2 = f1 - mu1, f2 - mu2
    trace1 = np.sum(a1 * a1) / (n1 - 1)
    trace2 = np.sum(a2 * a2) / (n2 - 1)
    nuclear = np.linalg.svd(a1 @ a2.T, compute_uv=False).sum()
    diff = mu1 - mu2
    distance = diff @ diff + trace1 + trace2 - 2.0 * nuclear / np.sqrt((n1 - 1) * (n2 - 1))
    return float(max(distance, 0.0))

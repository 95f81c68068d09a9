"""Inception Score (Salimans et al. 2016): exp(E_x KL(p(y|x) || p(y))), in float64."""

from __future__ import annotations

import numpy as np


def softmax(logits) -> np.ndarray:
    """Row-wise softmax in float64."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def inception_score(probs, splits: int = 1) -> tuple[float, float]:
    """Inception Score of class probabilities [N, K] (rows sum to 1); returns (mean, std) over splits.

    The papers use 10 splits of 50k samples; std is the population std over splits (0 for one split).
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] == 0:
        raise ValueError(f"probs must have shape [N, K] with N >= 1, got {probs.shape}")
    if np.any(probs < 0) or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("probs must be non-negative rows that sum to 1 (apply a softmax to logits first)")
    if not isinstance(splits, int) or splits < 1 or splits > probs.shape[0]:
        raise ValueError(f"splits must be an integer in [1, N={probs.shape[0]}], got {splits!r}")
    scores = []
    for part in np.array_split(probs, splits, axis=0):
        marginal = part.mean(axis=0, keepdims=True)
        # p log(p / p_y) with 0 log 0 = 0.
        ratio = np.divide(part, marginal, out=np.ones_like(part), where=part > 0)
        kl = np.sum(part * np.log(ratio), axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))

"""Running images through the extractor batch by batch and keeping what the metrics need."""

from __future__ import annotations

import numpy as np
import torch

from .features import InceptionFeatureExtractor
from .fid import GaussianStatsAccumulator
from .inception import FEATURE_DIM
from .inception_score import softmax


class FeatureCollector:
    """Accumulates Inception statistics (float64) and, when asked, features, labels and class probabilities.

    Features are kept as float32 (50k x 2048 = 400 MB) only for KID, precision/recall and per-class
    FID; the mean and covariance never need them.
    """

    def __init__(
        self, extractor: InceptionFeatureExtractor, *, keep_features: bool = False, keep_probs: bool = False
    ) -> None:
        self.extractor = extractor
        self.stats = GaussianStatsAccumulator(FEATURE_DIM)
        self.keep_features = keep_features
        self.keep_probs = keep_probs
        self._features: list[np.ndarray] = []
        self._probs: list[np.ndarray] = []
        self._labels: list[np.ndarray] = []

    @property
    def count(self) -> int:
        return self.stats.count

    def add(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> None:
        """Adds a batch of images [B, 3, H, W] in [0, 1] (or uint8), with optional class labels [B]."""
        features, logits = self.extractor(images)
        features_np = features.cpu().numpy()
        self.stats.update(features_np)
        if self.keep_features:
            self._features.append(features_np.astype(np.float32))
        if self.keep_probs:
            self._probs.append(softmax(logits.cpu().numpy()).astype(np.float64))
        if labels is not None:
            self._labels.append(
                np.asarray(labels.cpu() if torch.is_tensor(labels) else labels, dtype=np.int64)
            )

    def features(self) -> np.ndarray | None:
        return np.concatenate(self._features) if self._features else None

    def probs(self) -> np.ndarray | None:
        return np.concatenate(self._probs) if self._probs else None

    def labels(self) -> np.ndarray | None:
        return np.concatenate(self._labels) if self._labels else None

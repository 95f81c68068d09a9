"""Reference statistics of a real dataset: computed once through the training data code, saved as npz."""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..data import DataOptions, ImageBatchStream
from .collect import FeatureCollector
from .features import InceptionFeatureExtractor

REFERENCE_FORMAT_VERSION = 1


@dataclass
class ReferenceStats:
    """Inception mean/covariance of real images, optional features and labels, and how they were made.

    ``metadata`` holds dataset, split, resolution, num_images, resize_mode, weights_sha256,
    standard_weights, format_version and the creation time; it is empty for npz files made by other
    tools that only hold ``mu`` and ``sigma``.
    """

    mu: np.ndarray
    sigma: np.ndarray
    features: np.ndarray | None = None
    labels: np.ndarray | None = None
    metadata: dict = field(default_factory=dict)
    source: str | None = None  # the file it was loaded from, for reports

    def save(self, path: str | os.PathLike) -> Path:
        """Writes an npz with mu, sigma, [features], [labels] and the metadata as a JSON string."""
        arrays = {
            "mu": self.mu,
            "sigma": self.sigma,
            "metadata": np.array(json.dumps(self.metadata, sort_keys=True)),
        }
        if self.features is not None:
            arrays["features"] = self.features
        if self.labels is not None:
            arrays["labels"] = self.labels
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:  # a file handle keeps numpy from appending '.npz'
            np.savez(handle, **arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "ReferenceStats":
        """Reads an npz written by :meth:`save` (or any npz with ``mu`` and ``sigma``)."""
        with np.load(path, allow_pickle=False) as data:
            if "mu" not in data or "sigma" not in data:
                raise ValueError(
                    f"{path} is not a reference statistics file: it needs 'mu' and 'sigma' arrays"
                )
            metadata = json.loads(str(data["metadata"])) if "metadata" in data else {}
            return cls(
                mu=data["mu"].astype(np.float64),
                sigma=data["sigma"].astype(np.float64),
                features=data["features"] if "features" in data else None,
                labels=data["labels"] if "labels" in data else None,
                metadata=metadata,
                source=str(path),
            )

    def check_compatible(self, extractor: InceptionFeatureExtractor) -> None:
        """Raises ValueError when the reference was made with other weights or another resize mode.

        Files without metadata (made by other tools) only get a warning: their protocol is unknown.
        """
        if not self.metadata:
            warnings.warn(
                "The reference statistics carry no metadata: make sure they were computed with the same "
                "Inception weights and resize mode, or the score is not comparable.",
                stacklevel=2,
            )
            return
        if self.metadata.get("weights_sha256") != extractor.weights_sha256:
            raise ValueError(
                "The reference statistics were computed with Inception weights "
                f"{self.metadata.get('weights_sha256')}, but the extractor uses {extractor.weights_sha256}: "
                "recompute them with the same weights."
            )
        if self.metadata.get("resize_mode") != extractor.resize_mode:
            raise ValueError(
                f"The reference statistics use resize_mode={self.metadata.get('resize_mode')!r} but this "
                f"evaluation uses {extractor.resize_mode!r}: both sides must be resized the same way."
            )


def compute_reference_stats(
    extractor: InceptionFeatureExtractor,
    *,
    resolution: int,
    data: DataOptions | None = None,
    batch_size: int = 64,
    max_images: int | None = None,
    keep_features: bool = False,
    seed: int = 0,
    progress: bool = True,
) -> ReferenceStats:
    """Streams a real dataset through the training data code and returns its Inception statistics.

    Images are read exactly as training reads them (``ImageBatchStream`` over ``data`` at
    ``resolution``, so the reference sees what the generator learnt from), mapped from [-1, 1] to
    [0, 1], then resized to 299 by the extractor. ``data`` defaults to the built-in shapes set in data
    order (no shuffle). ``max_images`` stops early (use a shuffle buffer then, so the subset is not just
    the first shards). ``keep_features`` stores float32 features and labels for KID, precision/recall
    and per-class FID.
    """
    data = data if data is not None else DataOptions(shuffle_buffer_size=0)
    if max_images is not None and max_images < 2:
        raise ValueError(f"max_images must be at least 2 (a covariance needs 2 images), got {max_images}")
    stream = ImageBatchStream(data, resolution=resolution, batch_size=batch_size, seed=seed)
    collector = FeatureCollector(extractor, keep_features=keep_features)
    bar = tqdm(total=max_images, desc="reference statistics", unit="img", disable=not progress)
    batches = stream.iter_one_pass()
    try:
        for batch in batches:
            pixels, labels = batch["pixel_values"], batch["class_labels"]
            if max_images is not None:
                pixels, labels = (
                    pixels[: max_images - collector.count],
                    labels[: max_images - collector.count],
                )
            collector.add((pixels + 1.0) / 2.0, labels)
            bar.update(pixels.shape[0])
            if max_images is not None and collector.count >= max_images:
                break
    finally:
        batches.close()  # stop the stream's readers now, not at interpreter exit
        bar.close()
    if collector.count < 2:
        raise ValueError(f"the dataset gave {collector.count} images; reference statistics need at least 2")
    from .. import __version__

    metadata = {
        "format_version": REFERENCE_FORMAT_VERSION,
        "dataset": data.dataset_name,
        "train_data_dir": None if data.train_data_dir is None else str(data.train_data_dir),
        "split": data.dataset_split,
        "resolution": resolution,
        "num_images": collector.count,
        "num_classes": stream.num_classes,
        "resize_mode": extractor.resize_mode,
        "weights_sha256": extractor.weights_sha256,
        "standard_weights": extractor.standard_weights,
        "sagan_hf_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return ReferenceStats(
        mu=collector.stats.mean.copy(),
        sigma=collector.stats.covariance(),
        features=collector.features(),
        labels=collector.labels() if keep_features else None,
        metadata=metadata,
    )

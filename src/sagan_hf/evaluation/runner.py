"""Scoring a pipeline: generate samples, extract features, compute the asked metrics, build the report."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable

import numpy as np
import torch
from tqdm.auto import tqdm

from .collect import FeatureCollector
from .features import InceptionFeatureExtractor, load_inception_extractor
from .fid import frechet_distance, frechet_distance_from_features
from .inception import FEATURE_DIM
from .inception_score import inception_score
from .kid import kernel_inception_distance
from .precision_recall import precision_recall
from .reference import ReferenceStats
from .report import build_report

KNOWN_METRICS = ("fid", "is", "kid", "pr")
_DTYPE_NAMES = {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}


def parse_metrics(metrics: str | Iterable[str]) -> tuple[str, ...]:
    """'fid,is' or ['fid', 'is'] -> ('fid', 'is'), checked against the known metric names."""
    names = [m.strip().lower() for m in (metrics.split(",") if isinstance(metrics, str) else metrics)]
    names = [m for m in names if m]
    unknown = sorted(set(names) - set(KNOWN_METRICS))
    if unknown or not names:
        raise ValueError(f"metrics must be a non-empty subset of {KNOWN_METRICS}, got {names}")
    return tuple(dict.fromkeys(names))


def balanced_class_labels(num_samples: int, num_classes: int, seed: int) -> np.ndarray:
    """Each class num_samples / num_classes times (+-1), in a seeded random order."""
    labels = np.arange(num_samples) % num_classes
    return np.random.default_rng(seed).permutation(labels)


def _pipeline_num_classes(pipeline) -> int:
    return int(getattr(pipeline.generator.config, "num_classes", 0) or 0)


def _per_class_fid(
    reference: ReferenceStats, fake_features: np.ndarray, fake_labels: np.ndarray
) -> dict[str, float]:
    if reference.features is None or reference.labels is None:
        raise ValueError(
            "per-class FID needs reference features and labels: compute the reference with --keep_features"
        )
    scores = {}
    for label in np.unique(fake_labels):
        real = reference.features[reference.labels == label]
        fake = fake_features[fake_labels == label]
        if real.shape[0] < 2 or fake.shape[0] < 2:
            continue  # a covariance needs two samples on each side
        scores[str(int(label))] = frechet_distance_from_features(real, fake)
    if not scores:
        raise ValueError(
            "per-class FID needs at least 2 reference images and 2 samples of a class; no class had both"
        )
    return scores


def generate_features(
    pipeline,
    extractor: InceptionFeatureExtractor,
    *,
    num_samples: int,
    batch_size: int = 64,
    seed: int = 0,
    truncation: float | None = None,
    keep_features: bool = False,
    keep_probs: bool = False,
    progress: bool = True,
) -> FeatureCollector:
    """Samples ``num_samples`` images batch by batch and collects their Inception statistics.

    The noise comes from one CPU ``torch.Generator`` seeded with ``seed`` (the same samples on every
    device); class-conditional models get :func:`balanced_class_labels`, which the collector keeps.
    """
    num_classes = _pipeline_num_classes(pipeline)
    labels = balanced_class_labels(num_samples, num_classes, seed) if num_classes > 0 else None
    collector = FeatureCollector(extractor, keep_features=keep_features, keep_probs=keep_probs)
    generator = torch.Generator("cpu").manual_seed(seed)
    with tqdm(total=num_samples, desc="evaluating", unit="img", disable=not progress) as bar:
        for start in range(0, num_samples, batch_size):
            count = min(batch_size, num_samples - start)
            batch_labels = None if labels is None else labels[start : start + count]
            output = pipeline(
                class_labels=None if batch_labels is None else batch_labels.tolist(),
                batch_size=count if batch_labels is None else None,
                generator=generator,
                truncation=truncation,
                output_type="pt",
            )
            collector.add(
                output.images.float(), None if batch_labels is None else torch.from_numpy(batch_labels)
            )
            bar.update(count)
    return collector


def _warn_on_resolution_mismatch(reference: ReferenceStats, pipeline) -> None:
    reference_side = reference.metadata.get("resolution")
    sample_side = getattr(pipeline.generator.config, "sample_size", None)
    if reference_side is not None and sample_side is not None and reference_side != sample_side:
        warnings.warn(
            f"The reference statistics are of {reference_side}px images but the generator makes "
            f"{sample_side}px images: the score mixes resolutions and is not comparable.",
            stacklevel=3,
        )


def _has_full_reference_features(reference: ReferenceStats | None) -> bool:
    # Features saved with the statistics of the same images (not a subset): the FID can use them.
    if reference is None or reference.features is None:
        return False
    return reference.features.shape[0] == reference.metadata.get("num_images")


def _sample_space_fid_possible(reference: ReferenceStats | None, num_samples: int, metrics) -> bool:
    """Small evaluations against a reference with features get an exact, fast sample-space FID."""
    if "fid" not in metrics or not _has_full_reference_features(reference):
        return False
    return reference.features.shape[0] * num_samples <= FEATURE_DIM * FEATURE_DIM


def _fid(reference: ReferenceStats, collector: FeatureCollector) -> float:
    fake_features = collector.features()
    if fake_features is not None and _sample_space_fid_possible(reference, fake_features.shape[0], ("fid",)):
        # Same number, computed in sample space (fast and exact for small sets; see the function).
        return frechet_distance_from_features(reference.features, fake_features)
    # Reference first: its covariance (many images) is usually full rank, the fast Cholesky route.
    return frechet_distance(reference.mu, reference.sigma, collector.stats.mean, collector.stats.covariance())


def evaluate_pipeline(
    pipeline,
    *,
    num_samples: int,
    reference: ReferenceStats | str | os.PathLike | None,
    metrics: str | Iterable[str] = ("fid", "is"),
    batch_size: int = 64,
    seed: int = 0,
    truncation: float | None = None,
    inception: InceptionFeatureExtractor | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
    per_class_fid: bool = False,
    is_splits: int = 10,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    pr_k: int = 3,
    dtype: str | None = None,
) -> dict:
    """Generates ``num_samples`` images with ``pipeline`` and scores them; returns the report dict.

    Args:
        pipeline: a ``SAGANPipeline`` (anything with the same call and ``generator.config.num_classes``).
            Class-conditional models get balanced classes in a seeded random order.
        reference: reference statistics (object or npz path); optional when only IS is asked.
        metrics: subset of ``fid``, ``is``, ``kid``, ``pr`` (KID and precision/recall need reference
            features).
        inception: a loaded extractor to reuse (the trainer builds one once); loaded here otherwise,
            on ``device``.
        is_splits: Inception Score splits (10 in the papers), capped at ``num_samples``.
        dtype: label of the generation dtype for the report (default: the generator's dtype).
    """
    metrics = parse_metrics(metrics)
    if not isinstance(num_samples, int) or num_samples < 2:
        raise ValueError(f"num_samples must be an integer >= 2, got {num_samples!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if isinstance(reference, (str, os.PathLike)):
        reference = ReferenceStats.load(reference)
    needs_reference = bool({"fid", "kid", "pr"} & set(metrics)) or per_class_fid
    if needs_reference and reference is None:
        raise ValueError(f"metrics {metrics} (or per-class FID) need reference statistics")
    needs_ref_features = bool({"kid", "pr"} & set(metrics)) or per_class_fid
    if needs_ref_features and reference.features is None:
        raise ValueError(
            "KID, precision/recall and per-class FID need reference features: "
            "compute the reference with --keep_features"
        )
    num_classes = _pipeline_num_classes(pipeline)
    if per_class_fid and num_classes == 0:
        raise ValueError("per-class FID needs a class-conditional model; this one is unconditional")

    if inception is None:
        inception = load_inception_extractor(device=device if device is not None else pipeline.device)
    if reference is not None:
        reference.check_compatible(inception)
        _warn_on_resolution_mismatch(reference, pipeline)

    collector = generate_features(
        pipeline,
        inception,
        num_samples=num_samples,
        batch_size=batch_size,
        seed=seed,
        truncation=truncation,
        keep_features=needs_ref_features or _sample_space_fid_possible(reference, num_samples, metrics),
        keep_probs="is" in metrics,
        progress=progress,
    )
    labels = collector.labels()

    scores: dict = {}
    if "fid" in metrics:
        scores["fid"] = _fid(reference, collector)
    if "is" in metrics:
        scores["is_mean"], scores["is_std"] = inception_score(
            collector.probs(), splits=min(is_splits, num_samples)
        )
    if "kid" in metrics:
        scores["kid_mean"], scores["kid_std"] = kernel_inception_distance(
            reference.features,
            collector.features(),
            num_subsets=kid_subsets,
            subset_size=kid_subset_size,
            seed=seed,
        )
    if "pr" in metrics:
        scores["precision"], scores["recall"] = precision_recall(
            reference.features, collector.features(), k=pr_k, device=inception.device
        )
    by_class = None
    if per_class_fid:
        by_class = _per_class_fid(reference, collector.features(), labels)
        scores["per_class_fid"] = float(np.mean(list(by_class.values())))  # intra-FID

    if dtype is None:
        dtype = _DTYPE_NAMES.get(getattr(pipeline.generator, "dtype", None), "unknown")
    return build_report(
        scores,
        num_samples=num_samples,
        weights_sha256=inception.weights_sha256,
        standard_weights=inception.standard_weights,
        resize_mode=inception.resize_mode,
        reference=None if reference is None else (reference.source or "<in memory>"),
        reference_metadata=None if reference is None else reference.metadata,
        seed=seed,
        truncation=truncation,
        dtype=dtype,
        per_class_fid_by_class=by_class,
    )

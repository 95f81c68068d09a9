"""GAN metrics with the standard FID Inception network: FID, IS, KID, precision/recall.

See docs/evaluation.md for the protocol. Typical use::

    from sagan_hf.evaluation import load_inception_extractor, evaluate_pipeline
    extractor = load_inception_extractor()          # verified standard weights, or a clear refusal
    report = evaluate_pipeline(pipe, num_samples=50_000, reference="imagenet128.npz", inception=extractor)
"""

from .features import InceptionFeatureExtractor, load_inception_extractor
from .fid import (
    GaussianStatsAccumulator,
    frechet_distance,
    frechet_distance_from_features,
    gaussian_statistics,
)
from .inception import FIDInceptionV3
from .inception_score import inception_score
from .kid import kernel_inception_distance, mmd2_unbiased
from .precision_recall import precision_recall
from .reference import ReferenceStats, compute_reference_stats
from .report import build_report, tracker_scores, write_report
from .runner import evaluate_pipeline
from .standard_weights_spec import WEIGHTS_FILENAME, WEIGHTS_SHA256, WEIGHTS_URL
from .weights import InceptionWeightsError, WeightsInfo, load_fid_inception

__all__ = [
    "FIDInceptionV3",
    "GaussianStatsAccumulator",
    "InceptionFeatureExtractor",
    "InceptionWeightsError",
    "ReferenceStats",
    "WEIGHTS_FILENAME",
    "WEIGHTS_SHA256",
    "WEIGHTS_URL",
    "WeightsInfo",
    "build_report",
    "compute_reference_stats",
    "evaluate_pipeline",
    "frechet_distance",
    "frechet_distance_from_features",
    "gaussian_statistics",
    "inception_score",
    "kernel_inception_distance",
    "load_fid_inception",
    "load_inception_extractor",
    "mmd2_unbiased",
    "precision_recall",
    "tracker_scores",
    "write_report",
]

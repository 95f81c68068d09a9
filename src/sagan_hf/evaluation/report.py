"""The JSON evaluation report that scripts write and model cards read."""

from __future__ import annotations

import json
import os
import platform
from importlib import metadata as importlib_metadata
from pathlib import Path

METRIC_KEYS = ("fid", "is_mean", "is_std", "kid_mean", "kid_std", "precision", "recall", "per_class_fid")

NONSTANDARD_WARNING = (
    "Computed with non-standard Inception weights (not the FID Inception file): these numbers are NOT "
    "FID, IS or KID and cannot be compared with any published score. They are kept under "
    "'nonstandard_metrics' only; 'metrics' is empty."
)


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries that can change a score."""
    versions = {"python": platform.python_version()}
    for package in ("sagan-hf", "torch", "numpy", "diffusers", "pillow"):
        try:
            versions[package] = importlib_metadata.version(package)
        except importlib_metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def build_report(
    scores: dict,
    *,
    num_samples: int,
    weights_sha256: str,
    standard_weights: bool,
    resize_mode: str,
    reference: str | None,
    reference_metadata: dict | None,
    seed: int,
    truncation: float | None,
    dtype: str,
) -> dict:
    """Assembles the report; scores from non-standard weights never land under 'metrics'.

    Fields: metrics (any subset of fid, is_mean, is_std, kid_mean, kid_std, precision, recall,
    per_class_fid), num_samples, inception_weights_sha256, standard_weights, resize_mode, reference,
    reference_metadata, seed, truncation, dtype, versions; plus nonstandard_metrics and warning when
    the weights are not the standard ones.
    """
    unknown = set(scores) - set(METRIC_KEYS)
    if unknown:
        raise ValueError(f"unknown metric names {sorted(unknown)}; expected a subset of {METRIC_KEYS}")
    report = {
        "metrics": dict(scores) if standard_weights else {},
        "num_samples": int(num_samples),
        "inception_weights_sha256": weights_sha256,
        "standard_weights": bool(standard_weights),
        "resize_mode": resize_mode,
        "reference": reference,
        "reference_metadata": reference_metadata or {},
        "seed": int(seed),
        "truncation": truncation,
        "dtype": dtype,
        "versions": library_versions(),
    }
    if not standard_weights:
        report["nonstandard_metrics"] = dict(scores)
        report["warning"] = NONSTANDARD_WARNING
    return report


def write_report(report: dict, path: str | os.PathLike) -> Path:
    """Writes the report as indented JSON (parent folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    return path


def tracker_scores(report: dict, prefix: str = "eval/") -> dict[str, float]:
    """Flat scalar scores of a report for a tracker (TensorBoard, W&B), e.g. {"eval/fid": 18.6}.

    Scores from non-standard weights are named ``{prefix}nonstandard_<metric>`` so that no chart
    calls them FID or IS; the per-class dict is left out.
    """
    if report.get("standard_weights"):
        scores, name_prefix = report["metrics"], prefix
    else:
        scores, name_prefix = report.get("nonstandard_metrics", {}), f"{prefix}nonstandard_"
    return {f"{name_prefix}{name}": float(value) for name, value in scores.items() if name != "per_class_fid"}

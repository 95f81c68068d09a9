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
    per_class_fid_by_class: dict[str, float] | None = None,
) -> dict:
    """Assembles the report; scores from non-standard weights never land under 'metrics'.

    Fields: metrics (numbers only: any subset of fid, is_mean, is_std, kid_mean, kid_std, precision,
    recall, per_class_fid = the mean of the per-class FIDs, a.k.a. intra-FID), num_samples,
    inception_weights_sha256, standard_weights, resize_mode, reference, reference_metadata, seed,
    truncation, dtype, versions; per_class_fid_by_class ({class index: FID}) when computed; and
    nonstandard_metrics (+ nonstandard_per_class_fid_by_class) and warning instead when the weights
    are not the standard ones.
    """
    unknown = set(scores) - set(METRIC_KEYS)
    if unknown:
        raise ValueError(f"unknown metric names {sorted(unknown)}; expected a subset of {METRIC_KEYS}")
    not_numbers = sorted(
        k for k, v in scores.items() if isinstance(v, bool) or not isinstance(v, (int, float))
    )
    if not_numbers:
        raise ValueError(f"metric values must be numbers; {not_numbers} are not")
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
    if per_class_fid_by_class is not None:
        by_class_key = "per_class_fid_by_class" if standard_weights else "nonstandard_per_class_fid_by_class"
        report[by_class_key] = dict(per_class_fid_by_class)
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
    calls them FID or IS.
    """
    if report.get("standard_weights"):
        scores, name_prefix = report["metrics"], prefix
    else:
        scores, name_prefix = report.get("nonstandard_metrics", {}), f"{prefix}nonstandard_"
    return {f"{name_prefix}{name}": float(value) for name, value in scores.items()}

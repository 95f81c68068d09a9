"""Command-line front ends: ``scripts/evaluate.py`` and ``scripts/compute_reference_stats.py``.

The logic lives here so that tests can import and run it; the scripts only call ``main``.
"""

from __future__ import annotations

import argparse
import json
import sys

import torch

from .features import load_inception_extractor
from .reference import compute_reference_stats
from .resize import RESIZE_MODES
from .runner import evaluate_pipeline, parse_metrics
from .weights import WEIGHTS_ENV_VAR, InceptionWeightsError

GENERATION_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def _add_inception_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--inception_weights",
        default=None,
        help=f"path of pt_inception-2015-12-05-6726825d.pth (default: ${WEIGHTS_ENV_VAR}, then the torch hub "
        "cache, downloading there when possible)",
    )
    parser.add_argument(
        "--resize_mode",
        choices=RESIZE_MODES,
        default="tf_bilinear",
        help="resize to 299: TF1 bilinear as in the papers (default) or clean-fid's PIL bicubic",
    )
    parser.add_argument(
        "--no_download", action="store_true", help="never try to download the Inception weights"
    )
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")


def _default_device(device: str | None) -> str:
    return device or ("cuda" if torch.cuda.is_available() else "cpu")


def _load_extractor_or_exit(args: argparse.Namespace, device: str):
    try:
        return load_inception_extractor(
            args.inception_weights, resize_mode=args.resize_mode, device=device, download=not args.no_download
        )
    except InceptionWeightsError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from error


def build_evaluate_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Score a SAGAN pipeline with FID, IS, KID and precision/recall; writes a JSON report.",
    )
    parser.add_argument("--pipeline", required=True, help="a saved pipeline folder or a Hub repo id")
    parser.add_argument(
        "--num_samples", type=int, default=50_000, help="generated images (50k for paper numbers)"
    )
    parser.add_argument(
        "--reference",
        default=None,
        help="reference statistics npz (scripts/compute_reference_stats.py); not needed for --metrics is",
    )
    parser.add_argument("--metrics", default="fid,is", help="comma list of fid, is, kid, pr (default fid,is)")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument(
        "--truncation", type=float, default=None, help="truncation trick threshold (default none)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="report.json", help="where to write the JSON report")
    parser.add_argument(
        "--dtype",
        choices=sorted(GENERATION_DTYPES),
        default="fp32",
        help="generator dtype; Inception features are always computed in fp32",
    )
    parser.add_argument(
        "--per_class_fid",
        action="store_true",
        help="also FID per class (class-conditional models; the reference needs features)",
    )
    parser.add_argument("--is_splits", type=int, default=10, help="Inception Score splits (10 in the papers)")
    parser.add_argument("--no_progress", action="store_true", help="hide the progress bar")
    _add_inception_arguments(parser)
    return parser


def _load_pipeline(path_or_repo_id: str, dtype: torch.dtype, device: str):
    from ..pipelines import SAGANPipeline

    return SAGANPipeline.from_pretrained(path_or_repo_id, dtype=dtype).to(device)


def evaluate_main(argv: list[str] | None = None) -> dict:
    """Runs ``scripts/evaluate.py``; returns the report it wrote."""
    args = build_evaluate_parser().parse_args(argv)
    try:
        metrics = parse_metrics(args.metrics)
    except ValueError as error:
        raise SystemExit(f"error: {error}") from error
    if args.reference is None and set(metrics) != {"is"}:
        raise SystemExit(f"error: --reference is needed for {','.join(m for m in metrics if m != 'is')}")
    device = _default_device(args.device)
    extractor = _load_extractor_or_exit(args, device)  # before generating anything: refuse early
    pipeline = _load_pipeline(args.pipeline, GENERATION_DTYPES[args.dtype], device)
    report = evaluate_pipeline(
        pipeline,
        num_samples=args.num_samples,
        reference=args.reference,
        metrics=metrics,
        batch_size=args.batch_size,
        seed=args.seed,
        truncation=args.truncation,
        inception=extractor,
        progress=not args.no_progress,
        per_class_fid=args.per_class_fid,
        is_splits=args.is_splits,
        dtype=args.dtype,
    )
    report["pipeline"] = args.pipeline
    from .report import write_report

    write_report(report, args.output)
    print(json.dumps(report["metrics"] or report.get("nonstandard_metrics"), indent=2))
    print(f"report written to {args.output}")
    return report


def build_reference_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Compute Inception reference statistics of a real dataset (read like training data).",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--dataset_name", default=None, help="Hub dataset id, or 'shapes' (the default)")
    source.add_argument("--train_data_dir", default=None, help="local parquet / webdataset / image folder")
    parser.add_argument(
        "--resolution", type=int, required=True, help="image side, the generator's resolution"
    )
    parser.add_argument("--split", default="train")
    parser.add_argument("--image_column", default=None)
    parser.add_argument("--label_column", default=None)
    parser.add_argument(
        "--max_images", type=int, default=None, help="stop after this many images (default all)"
    )
    parser.add_argument(
        "--shuffle_buffer_size",
        type=int,
        default=0,
        help="shuffle before taking --max_images (default 0: data order)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--num_workers", type=int, default=0)
    parser.add_argument(
        "--keep_features",
        action="store_true",
        help="store features and labels (needed for KID, precision/recall and per-class FID)",
    )
    parser.add_argument("--output", required=True, help="npz file to write")
    parser.add_argument("--no_progress", action="store_true")
    _add_inception_arguments(parser)
    return parser


def reference_main(argv: list[str] | None = None):
    """Runs ``scripts/compute_reference_stats.py``; returns the ReferenceStats it saved."""
    args = build_reference_parser().parse_args(argv)
    extractor = _load_extractor_or_exit(args, _default_device(args.device))
    stats = compute_reference_stats(
        extractor,
        resolution=args.resolution,
        dataset_name=args.dataset_name,
        train_data_dir=args.train_data_dir,
        split=args.split,
        batch_size=args.batch_size,
        max_images=args.max_images,
        keep_features=args.keep_features,
        image_column=args.image_column,
        label_column=args.label_column,
        num_workers=args.num_workers,
        seed=args.seed,
        shuffle_buffer_size=args.shuffle_buffer_size,
        progress=not args.no_progress,
    )
    stats.save(args.output)
    print(f"{stats.metadata['num_images']} images -> {args.output}")
    return stats

"""`sagan-hf evaluate` (and `scripts/evaluate.py`): FID, IS, KID and precision/recall of a pipeline."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass

from ..evaluation.runner import parse_metrics
from ..options import check_options, option
from .arguments import add_dataclass_arguments, dataclass_from_args
from .errors import command_main
from .inception import InceptionOptions

DESCRIPTION = "Score a SAGAN pipeline with FID, IS, KID and precision/recall; writes a JSON report."
GENERATION_DTYPES = ("fp32", "bf16")


@dataclass(kw_only=True)
class EvaluateOptions(InceptionOptions):
    pipeline: str = option(help="a saved pipeline folder or a Hub repo id")
    num_samples: int = option(50_000, "generated images (50k for paper numbers)", check="positive")
    reference: str | None = option(None, "reference statistics npz (sagan-hf reference-stats); not needed for "
                                   "--metrics is")
    metrics: str = option("fid,is", "comma list of fid, is, kid, pr")
    batch_size: int = option(64, "generation and feature batch", check="positive")
    truncation: float | None = option(None, "truncation trick threshold", check="positive_number_or_none")
    seed: int = option(0, "seed of the latents and classes", check="non_negative")
    output: str = option("report.json", "where to write the JSON report")
    dtype: str = option("fp32", "generator dtype; Inception features are always computed in fp32",
                        choices=GENERATION_DTYPES)
    per_class_fid: bool = option(False, "also FID per class (class-conditional models; the reference needs features)")
    is_splits: int = option(10, "Inception Score splits (10 in the papers)", check="positive")
    progress: bool = option(True, "show a progress bar")

    def __post_init__(self):
        check_options(self)
        self.metric_names = parse_metrics(self.metrics)
        if self.reference is None and set(self.metric_names) != {"is"}:
            raise ValueError(f"--reference is needed for {','.join(m for m in self.metric_names if m != 'is')}")


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="sagan-hf evaluate")
    parser.description = DESCRIPTION
    add_dataclass_arguments(parser, EvaluateOptions)
    return parser


def evaluate(options: EvaluateOptions) -> dict:
    """Score the pipeline as `options` say, write the report and return it."""
    import torch

    from ..evaluation import evaluate_pipeline, write_report
    from ..pipelines import SAGANPipeline

    extractor = options.load_extractor()  # before generating anything: refuse early
    dtype = torch.bfloat16 if options.dtype == "bf16" else torch.float32
    pipeline = SAGANPipeline.from_pretrained(options.pipeline, dtype=dtype).to(options.resolved_device())
    report = evaluate_pipeline(
        pipeline, num_samples=options.num_samples, reference=options.reference, metrics=options.metric_names,
        batch_size=options.batch_size, seed=options.seed, truncation=options.truncation, inception=extractor,
        progress=options.progress, per_class_fid=options.per_class_fid, is_splits=options.is_splits,
        dtype=options.dtype,
    )
    report["pipeline"] = options.pipeline
    write_report(report, options.output)
    print(json.dumps(report["metrics"] or report.get("nonstandard_metrics"), indent=2))
    print(f"report written to {options.output}")
    return report


def run(args: argparse.Namespace) -> int:
    evaluate(dataclass_from_args(EvaluateOptions, args))
    return 0


main = command_main(build_parser, run)


if __name__ == "__main__":
    sys.exit(main())

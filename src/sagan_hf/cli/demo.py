"""`sagan-hf demo`: train a small SAGAN on the built-in shapes set, then score and picture it.

The first of the README's two commands (`make demo`) runs this. The report part alone is
`sagan-hf demo --no_train` (or `scripts/demo_report.py`).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from ..options import check_options, check_paths, option
from .arguments import add_dataclass_arguments, dataclass_from_args
from .errors import command_main

DESCRIPTION = ("Train a small SAGAN on the built-in shapes set (preset shapes-demo, a few minutes on a CPU), "
               "then write sample grids per class, attention maps and the class-accuracy report.")


@dataclass(kw_only=True)
class DemoOptions:
    output_dir: str = option("runs/shapes-demo", "the training run folder; the report goes to OUTPUT_DIR/report",
                             path="output_dir")
    train: bool = option(True, "train first (--no_train: only the report, of the pipeline in output_dir)")
    samples_per_class: int = option(200, "generated images per class for the class accuracy", check="positive")
    seed: int = option(0, "seed of the report's samples", check="non_negative")

    def __post_init__(self):
        check_options(self)


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="sagan-hf demo")
    parser.description = DESCRIPTION
    add_dataclass_arguments(parser, DemoOptions)
    return parser


def report(pipeline_dir: str, output_dir: str, samples_per_class: int, seed: int) -> dict:
    from ..demo_report import format_report, run_demo_report

    result = run_demo_report(pipeline_dir, output_dir, samples_per_class=samples_per_class, seed=seed)
    print(format_report(result))
    return result


def run(args: argparse.Namespace) -> int:
    options = dataclass_from_args(DemoOptions, args)
    check_paths(options)
    if not options.train and not (Path(options.output_dir) / "model_index.json").is_file():
        raise ValueError(f"--no_train reports on the pipeline in output_dir, but {options.output_dir} holds none "
                         "(no model_index.json): train first")
    if options.train:
        import logging

        from ..training import make_config, train

        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
        train(make_config("shapes-demo", output_dir=options.output_dir))
    report(options.output_dir, str(Path(options.output_dir) / "report"), options.samples_per_class, options.seed)
    return 0


main = command_main(build_parser, run)


if __name__ == "__main__":
    sys.exit(main())

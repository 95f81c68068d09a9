"""`sagan-hf reference-stats` (and `scripts/compute_reference_stats.py`): Inception statistics of a dataset.

The data flags are those of `sagan-hf train` (`DataOptions`): the reference is read exactly as
training reads its images.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass

from ..data import DataOptions
from ..options import option
from .arguments import add_dataclass_arguments, dataclass_from_args
from .errors import command_main
from .inception import InceptionOptions

DESCRIPTION = "Compute Inception reference statistics of a real dataset (read like training data)."


@dataclass(kw_only=True)
class ReferenceStatsOptions(DataOptions, InceptionOptions):
    resolution: int = option(help="image side, the generator's resolution", check="positive")
    output: str = option(help="npz file to write")
    max_images: int | None = option(None, "stop after this many images (default all)", check="positive_or_none")
    # Data order unless asked: a shuffle only matters when --max_images takes a subset.
    shuffle_buffer_size: int = option(0, "shuffle before taking --max_images (0: data order)", check="non_negative",
                                      group="data")
    seed: int = option(0, "shuffle seed", check="non_negative")
    batch_size: int = option(64, "images per Inception batch", check="positive")
    keep_features: bool = option(False, "store features and labels (needed for KID, precision/recall and "
                                 "per-class FID)")
    progress: bool = option(True, "show a progress bar")


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="sagan-hf reference-stats")
    parser.description = DESCRIPTION
    add_dataclass_arguments(parser, ReferenceStatsOptions)
    return parser


def compute(options: ReferenceStatsOptions):
    """Compute, save and return the statistics."""
    from ..evaluation import compute_reference_stats

    extractor = options.load_extractor()
    data = DataOptions(**{f.name: getattr(options, f.name) for f in dataclasses.fields(DataOptions)})
    stats = compute_reference_stats(
        extractor, resolution=options.resolution, data=data, batch_size=options.batch_size,
        max_images=options.max_images, keep_features=options.keep_features, seed=options.seed,
        progress=options.progress,
    )
    stats.save(options.output)
    print(f"{stats.metadata['num_images']} images -> {options.output}")
    return stats


def run(args: argparse.Namespace) -> int:
    compute(dataclass_from_args(ReferenceStatsOptions, args))
    return 0


main = command_main(build_parser, run)


if __name__ == "__main__":
    sys.exit(main())

"""`sagan-hf sample` (and `scripts/sample.py`): a grid per class, a grid of all classes, the attention figure."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from ..options import check_options, check_paths, option
from .arguments import add_dataclass_arguments, dataclass_from_args
from .errors import command_main
from .loading import load_pipeline

DESCRIPTION = "Sample a SAGAN pipeline: a grid per class, a grid of all classes, and the attention-map figure."
EXAMPLES = """examples:
  sagan-hf sample --pipeline runs/shapes-demo --output_dir samples/
  sagan-hf sample --pipeline org/sagan-imagenet128 --classes 207,360,980 --truncation 1.0"""


@dataclass(kw_only=True)
class SampleOptions:
    pipeline: str = option(help="a folder written by save_pretrained/training, or a Hub repo id", path="pipeline")
    output_dir: str = option(help="where the grids and the figure go", path="output_dir")
    classes: str | None = option(None, "comma-separated class indices (default: up to 16, spread over the classes)")
    class_names: str | None = option(None, "comma-separated names of the classes 0, 1, 2, ..., used in file names")
    per_class: int = option(8, "images per class", check="positive")
    seed: int = option(0, "seed of the latents", check="non_negative")
    truncation: float | None = option(None, "truncate z to [-t, t] (the truncation trick)",
                                      check="positive_number_or_none")
    attention_maps: bool = option(True, "also draw the attention-map figure")
    device: str | None = option(None, "cpu or cuda (default: cuda when available)", check="device_or_none")
    dtype: str = option("fp32", "generation precision", choices=("fp32", "bf16"))
    standing_statistics: int = option(0, "re-estimate the generator's BatchNorm statistics from this many batches "
                                      "of 64 fresh samples first (0: keep the stored ones)", check="non_negative")

    def __post_init__(self):
        check_options(self)
        self.class_list()
        names = self.name_list()
        if names is not None and any(not name.strip() or "/" in name or "\\" in name for name in names):
            raise ValueError(f"class_names must be non-empty names without '/' or '\\' (they become file names), "
                             f"got {self.class_names!r}")

    def class_list(self) -> list[int] | None:
        if not self.classes:
            return None
        try:
            return [int(c) for c in self.classes.split(",")]
        except ValueError:
            raise ValueError(f"classes must be comma-separated class indices such as 1,2,3, got {self.classes!r}") from None

    def name_list(self) -> list[str] | None:
        return self.class_names.split(",") if self.class_names else None

    def check_against(self, num_classes: int) -> None:
        """Refuse classes and names that the loaded generator does not have."""
        classes, names = self.class_list(), self.name_list()
        if classes is not None and num_classes == 0:
            raise ValueError("this generator is unconditional (num_classes=0): leave out --classes")
        bad = [c for c in classes or [] if not 0 <= c < num_classes]
        if bad:
            raise ValueError(f"classes must lie in [0, {num_classes}) for this generator, got {bad}")
        highest = max(classes) if classes else num_classes - 1  # the highest class a grid is drawn for
        if names is not None and len(names) <= highest:
            raise ValueError(f"class_names has {len(names)} names but class {highest} is drawn: give the names of "
                             "the classes 0, 1, 2, ... up to it")


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="sagan-hf sample")
    parser.description, parser.epilog = DESCRIPTION, EXAMPLES
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_dataclass_arguments(parser, SampleOptions)
    return parser


def run(args: argparse.Namespace) -> int:
    options = dataclass_from_args(SampleOptions, args)
    check_paths(options)
    import torch

    from ..visualization import write_samples

    device = options.device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if options.dtype == "bf16" else torch.float32
    pipe = load_pipeline(options.pipeline, dtype=dtype, device=device)
    options.check_against(pipe.generator.config.num_classes)  # before the output folder is made
    if options.standing_statistics:
        from ..pipelines import recompute_batchnorm_statistics

        recompute_batchnorm_statistics(pipe, num_batches=options.standing_statistics, seed=options.seed,
                                       truncation=options.truncation)
    written = write_samples(
        pipe, options.output_dir, classes=options.class_list(), class_names=options.name_list(),
        per_class=options.per_class, seed=options.seed, truncation=options.truncation,
        attention_maps=options.attention_maps,
    )
    print(f"wrote {len(written['grids'])} class grids, {written['samples_grid']}"
          + (f" and {written['attention_maps']}" if "attention_maps" in written else ""))
    return 0


main = command_main(build_parser, run)


if __name__ == "__main__":
    sys.exit(main())

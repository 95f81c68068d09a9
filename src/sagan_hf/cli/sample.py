"""`sagan-hf sample` (and `scripts/sample.py`): a grid per class, a grid of all classes, the attention figure."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from ..options import option
from .arguments import add_dataclass_arguments, dataclass_from_args
from .errors import command_main

DESCRIPTION = "Sample a SAGAN pipeline: a grid per class, a grid of all classes, and the attention-map figure."
EXAMPLES = """examples:
  sagan-hf sample --pipeline runs/shapes-demo --output_dir samples/
  sagan-hf sample --pipeline org/sagan-imagenet128 --classes 207,360,980 --truncation 1.0"""


@dataclass(kw_only=True)
class SampleOptions:
    pipeline: str = option(help="a folder written by save_pretrained/training, or a Hub repo id")
    output_dir: str = option(help="where the grids and the figure go")
    classes: str | None = option(None, "comma-separated class indices (default: up to 16, spread over the classes)")
    class_names: str | None = option(None, "comma-separated names used in file names")
    per_class: int = option(8, "images per class", check="positive")
    seed: int = option(0, "seed of the latents", check="non_negative")
    truncation: float | None = option(None, "truncate z to [-t, t] (the truncation trick)",
                                      check="positive_number_or_none")
    attention_maps: bool = option(True, "also draw the attention-map figure")
    device: str | None = option(None, "cpu or cuda (default: cuda when available)")
    dtype: str = option("fp32", "generation precision", choices=("fp32", "bf16"))

    def __post_init__(self):
        from ..options import check_options

        check_options(self)

    def class_list(self) -> list[int] | None:
        if not self.classes:
            return None
        try:
            return [int(c) for c in self.classes.split(",")]
        except ValueError:
            raise ValueError(f"classes must be comma-separated class indices such as 1,2,3, got {self.classes!r}") from None


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="sagan-hf sample")
    parser.description, parser.epilog = DESCRIPTION, EXAMPLES
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_dataclass_arguments(parser, SampleOptions)
    return parser


def run(args: argparse.Namespace) -> int:
    options = dataclass_from_args(SampleOptions, args)
    classes = options.class_list()
    import torch

    from ..pipelines import SAGANPipeline
    from ..visualization import write_samples

    device = options.device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if options.dtype == "bf16" else torch.float32
    pipe = SAGANPipeline.from_pretrained(options.pipeline, dtype=dtype).to(device)
    pipe.set_progress_bar_config(disable=True)
    names = options.class_names.split(",") if options.class_names else None
    written = write_samples(
        pipe, options.output_dir, classes=classes, class_names=names, per_class=options.per_class,
        seed=options.seed, truncation=options.truncation, attention_maps=options.attention_maps,
    )
    print(f"wrote {len(written['grids'])} class grids, {written['samples_grid']}"
          + (f" and {written['attention_maps']}" if "attention_maps" in written else ""))
    return 0


main = command_main(build_parser, run)


if __name__ == "__main__":
    sys.exit(main())

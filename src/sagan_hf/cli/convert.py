"""`sagan-hf convert <source>`: published checkpoints of other code bases -> SAGANPipeline folders.

One options dataclass per source; `SOURCES` maps each `convert` sub-command to its options and
converter. `scripts/convert_*_checkpoint.py` are shims over these.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass

from ..convert.core.class_names import CLASS_NAME_CHOICES
from ..convert.mmgen.architecture import COLOR_ORDERS
from ..options import check_options, check_paths, option
from .arguments import add_dataclass_arguments, dataclass_from_args
from .errors import run_reporting_errors

DESCRIPTION = "Convert a published checkpoint of another code base into a SAGANPipeline folder (safetensors)."
CLASS_NAMES_HELP = ("class names to store (id2label): auto (ImageNet's for 1000 classes, CIFAR-10's for 10 classes at "
                    "32x32, else none), imagenet, cifar10 or none")
GENERATOR_CHOICES = ("auto", "ema", "orig")


@dataclass(kw_only=True)
class BigGANOptions:
    """A SAGAN-configured BigGAN-PyTorch run (ajbrock/BigGAN-PyTorch); see docs/convert_biggan.md."""

    weights_dir: str = option(help="folder with G.pth, D.pth [, G_ema.pth, state_dict.pth]", path="existing_dir")
    output_dir: str = option(help="where to write the pipeline folder", path="output_dir")
    resolution: int | None = option(None, "image side: 32, 64, 128 or 256", check="positive_or_none")
    ch: int | None = option(None, "base width of G and D (their G_ch / D_ch)", check="positive_or_none")
    attention_resolutions: str | None = option(None, "attention sides of G and D: 64, 32_64, 0 (none)")
    num_classes: int | None = option(None, "number of classes (their n_classes)", check="positive_or_none")
    z_dim: int | None = option(None, "latent size (their dim_z)", check="positive_or_none")
    sn_eps: float | None = option(None, "their SN_eps (default: the config's, else 1e-8)",
                                  check="positive_number_or_none")
    bn_eps: float | None = option(None, "their BN_eps (default: the config's, else 1e-5)",
                                  check="positive_number_or_none")
    discriminator: bool = option(True, "convert the discriminator too")
    class_names: str = option("auto", CLASS_NAMES_HELP, choices=CLASS_NAME_CHOICES)

    def __post_init__(self):
        check_options(self)


@dataclass(kw_only=True)
class MMGenOptions:
    """An MMGeneration SAGAN checkpoint (open-mmlab/mmgeneration, configs/sagan); see docs/pretrained.md."""

    checkpoint: str = option(help="the .pth file (e.g. sagan_128_woReLUinplace_noaug_bigGAN_..._210232-3f5686af.pth)",
                             path="existing_file")
    output_dir: str = option(help="where to write the pipeline folder", path="output_dir")
    generator: str = option("auto", "which generator: auto (the EMA copy when the file has one), ema or orig",
                            choices=GENERATOR_CHOICES)
    color_order: str | None = option(None, "colour order the model was trained on: bgr (MMGeneration's own runs; "
                                     "converted to RGB) or rgb (its StudioGAN conversions); default: known from the "
                                     "published file, else bgr", choices=COLOR_ORDERS)
    discriminator: bool = option(True, "convert the discriminator too")
    bn_eps: float | None = option(None, "BatchNorm epsilon of the generator, for a file that is neither published nor "
                                  "carries its config (MMGeneration's default 1e-4)", check="positive_number_or_none")
    discriminator_inplace_relu: bool | None = option(None, "whether the discriminator's ReLU was in place (the "
                                                     "wReLUinplace configs), for a file that does not record it")
    class_names: str = option("auto", CLASS_NAMES_HELP, choices=CLASS_NAME_CHOICES)

    def __post_init__(self):
        check_options(self)


@dataclass(kw_only=True)
class StudioGANOptions:
    """StudioGAN SAGAN files (POSTECH-CVLab/PyTorch-StudioGAN, model=G-/D-...pth); see docs/pretrained.md."""

    generator: str = option(help="the model=G-...-weights-step=N.pth file", path="existing_file")
    discriminator: str | None = option(None, "the matching model=D-...pth file (default: generator only)",
                                       path="existing_file")
    output_dir: str = option(help="where to write the pipeline folder", path="output_dir")
    fold_power_iterations: int = option(0, "spectral-norm power iterations to fold into the generator: StudioGAN's "
                                        "sampling runs one per call, so K reproduces its K-th call (0 = plain eval)",
                                        check="non_negative")
    class_names: str = option("auto", CLASS_NAMES_HELP, choices=CLASS_NAME_CHOICES)

    def __post_init__(self):
        check_options(self)


def convert_biggan(options: BigGANOptions):
    from ..convert.biggan import convert_biggan_checkpoint

    return convert_biggan_checkpoint(
        options.weights_dir, options.output_dir, resolution=options.resolution, ch=options.ch,
        attention_resolutions=options.attention_resolutions, num_classes=options.num_classes,
        z_dim=options.z_dim, sn_eps=options.sn_eps, bn_eps=options.bn_eps,
        include_discriminator=options.discriminator, class_names=options.class_names,
    )


def convert_mmgen(options: MMGenOptions):
    from ..convert.mmgen import convert_mmgen_checkpoint

    return convert_mmgen_checkpoint(
        options.checkpoint, options.output_dir, generator=options.generator, color_order=options.color_order,
        include_discriminator=options.discriminator, bn_eps=options.bn_eps,
        discriminator_inplace_relu=options.discriminator_inplace_relu, class_names=options.class_names,
    )


def convert_studiogan(options: StudioGANOptions):
    from ..convert.studiogan import convert_studiogan_checkpoint

    return convert_studiogan_checkpoint(
        options.generator, options.output_dir, discriminator=options.discriminator,
        fold_power_iterations=options.fold_power_iterations, class_names=options.class_names,
    )


# sub-command: (options dataclass, converter returning the pipeline it wrote)
SOURCES: dict[str, tuple[type, Callable]] = {
    "biggan": (BigGANOptions, convert_biggan),
    "mmgen": (MMGenOptions, convert_mmgen),
    "studiogan": (StudioGANOptions, convert_studiogan),
}


def build_parser(parser: argparse.ArgumentParser | None = None, source: str | None = None) -> argparse.ArgumentParser:
    """`convert` with a sub-command per source, or the flags of one source alone (for its script)."""
    parser = parser or argparse.ArgumentParser(prog="sagan-hf convert" + (f" {source}" if source else ""))
    parser.description = DESCRIPTION
    if source is not None:
        options_class = SOURCES[source][0]
        parser.description = options_class.__doc__
        add_dataclass_arguments(parser, options_class)
        parser.set_defaults(source=source)
        return parser
    sources = parser.add_subparsers(dest="source", required=True, metavar="SOURCE")
    for name, (options_class, _) in SOURCES.items():
        sub = sources.add_parser(name, help=options_class.__doc__.splitlines()[0], description=options_class.__doc__)
        add_dataclass_arguments(sub, options_class)
    return parser


def run(args: argparse.Namespace) -> int:
    options_class, convert = SOURCES[args.source]
    options = dataclass_from_args(options_class, args)
    check_paths(options)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    pipeline = convert(options)
    config = pipeline.generator.config
    print(
        f"Wrote {options.output_dir}: {config.sample_size}x{config.sample_size}, {config.num_classes} classes, "
        f"ch={config.ch}, G attention at {list(config.attention_resolutions)}"
        + ("" if pipeline.discriminator is not None else " (generator only)")
        + (", with class names" if pipeline.id2label else "")
    )
    print(f"Load it with: SAGANPipeline.from_pretrained({options.output_dir!r})")
    return 0


def main(argv: list[str] | None = None, source: str | None = None) -> int:
    args = build_parser(source=source).parse_args(argv)
    return run_reporting_errors(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())

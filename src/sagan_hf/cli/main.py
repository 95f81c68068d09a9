"""`sagan-hf`: one command with a sub-command per task, in the manner of `accelerate` and `hf`.

Each sub-command is a module of this package with `DESCRIPTION`, `build_parser(parser)` and
`run(args)`; its flags come from one options dataclass. Only the module of the command asked for is
imported (each pulls in torch and diffusers), so `sagan-hf --help` answers at once. Bad input ends
with one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# sub-command -> (module, one line for the command list; the module's DESCRIPTION says the rest)
COMMANDS = {
    "train": ("train", "train a SAGAN (under `accelerate launch` for several processes)"),
    "sample": ("sample", "sample grids per class and the attention figure"),
    "evaluate": ("evaluate", "FID, IS, KID and precision/recall of a pipeline"),
    "reference-stats": ("reference_stats", "Inception statistics of a dataset, read as training reads it"),
    "push": ("push", "push a pipeline folder to the Hub with a model card"),
    "convert": ("convert", "convert published checkpoints of other code bases"),
    "demo": ("demo", "train the shapes demo and write its report"),
    "explore": ("explore", "the attention explorer: a local web app (needs the app extra)"),
}


def top_level_parser() -> argparse.ArgumentParser:
    from .. import __version__

    lines = "\n".join(f"  {name:<17} {summary}" for name, (_, summary) in COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="sagan-hf", description="Self-Attention GANs on the Hugging Face stack.",
        epilog=f"commands:\n{lines}\n\n`sagan-hf COMMAND --help` lists a command's flags.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sagan-hf {__version__}")
    parser.add_argument("command", choices=list(COMMANDS), metavar="COMMAND", help="one of the commands below")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        top_level_parser().parse_args(argv[:1])  # prints help, the version, or a usage error and exits
    name, rest = argv[0], argv[1:]
    module = importlib.import_module(f"{__package__}.{COMMANDS[name][0]}")
    parser = argparse.ArgumentParser(prog=f"sagan-hf {name}")
    module.build_parser(parser)
    args = parser.parse_args(rest)

    from .errors import run_reporting_errors

    return run_reporting_errors(lambda: module.run(args))


if __name__ == "__main__":
    sys.exit(main())

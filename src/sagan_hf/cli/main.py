"""`sagan-hf`: one command with a sub-command per task, in the manner of `accelerate` and `hf`.

Each sub-command is a module of this package with `DESCRIPTION`, `build_parser(parser)` and
`run(args)`; its flags come from one options dataclass. Bad input ends with one line on stderr and
exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# sub-command -> module (imported when the command line is parsed)
COMMANDS = {
    "train": "train",
    "sample": "sample",
    "evaluate": "evaluate",
    "reference-stats": "reference_stats",
    "push": "push",
    "convert": "convert",
    "demo": "demo",
    "explore": "explore",
}


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    from .. import __version__

    parser = argparse.ArgumentParser(prog="sagan-hf", description="Self-Attention GANs on the Hugging Face stack.")
    parser.add_argument("--version", action="version", version=f"sagan-hf {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = {}
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(f"{__package__}.{module_name}")
        sub = commands.add_parser(name, help=module.DESCRIPTION, description=module.DESCRIPTION)
        module.build_parser(sub)
        modules[name] = module
    return parser, modules


def main(argv: list[str] | None = None) -> int:
    from .errors import run_reporting_errors

    parser, modules = build_parser()
    args = parser.parse_args(argv)
    return run_reporting_errors(lambda: modules[args.command].run(args))


if __name__ == "__main__":
    sys.exit(main())

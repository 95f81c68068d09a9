"""`sagan-hf explore` (and `scripts/explore.py`): the attention explorer, a local web app over a pipeline."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from ..options import check_options, option
from .arguments import add_dataclass_arguments, dataclass_from_args
from .errors import command_main

DESCRIPTION = ("Serve the attention explorer: generate images by class and seed, click a pixel and see where it "
               "attends in each self-attention layer (needs the `app` extra: pip install 'sagan-hf[app]').")
EXAMPLES = """examples:
  sagan-hf explore --pipeline runs/shapes-demo
  sagan-hf explore --pipeline org/sagan-imagenet128 --host 0.0.0.0 --port 7860"""


def _port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise ValueError(f"a port is 1-65535, got {port}")
    return port


@dataclass(kw_only=True)
class ExploreOptions:
    pipeline: str = option(help="a folder written by save_pretrained/training, or a Hub repo id")
    revision: str | None = option(None, "Hub revision (branch, tag or commit) of a repo id")
    host: str | None = option(None, "address to serve on (default: 127.0.0.1, or GRADIO_SERVER_NAME; 0.0.0.0 for "
                                    "every interface)")
    port: int | None = option(None, "port (default: GRADIO_SERVER_PORT, else the first free one from 7860)",
                              parse=_port)
    device: str | None = option(None, "cpu or cuda (default: cuda when available)")

    def __post_init__(self):
        check_options(self)


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="sagan-hf explore")
    parser.description, parser.epilog = DESCRIPTION, EXAMPLES
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_dataclass_arguments(parser, ExploreOptions)
    return parser


def run(args: argparse.Namespace) -> int:
    options = dataclass_from_args(ExploreOptions, args)
    try:
        from ..app.ui import launch_explorer
    except ImportError as error:
        raise ValueError(str(error)) from None  # one line: which extra to install
    launch_explorer(options.pipeline, revision=options.revision, host=options.host, port=options.port,
                    device=options.device)
    return 0


main = command_main(build_parser, run)


if __name__ == "__main__":
    sys.exit(main())

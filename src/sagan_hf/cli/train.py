"""`sagan-hf train` (also `accelerate launch scripts/train.py` and `accelerate launch -m sagan_hf.cli.train`).

Every flag comes from a field of `TrainConfig` (and `DataOptions`); only the flags a user types
override the chosen preset. `--attention_resolutions` sets both networks' placements at once.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

from ..training.config import PRESET_HELP, PRESETS, TrainConfig, make_config, parse_resolution_list
from .arguments import text_parser, add_dataclass_arguments
from .errors import command_main, is_first_process

DESCRIPTION = "Train a SAGAN (Zhang et al., 2019) with Accelerate on a datasets stream."
# Exit statuses besides 0 (done) and 2 (bad input); a signal stop exits with 128 + its number (see
# docs/training.md): 143 SIGTERM, 138 SIGUSR1, 130 SIGINT, each after a checkpoint of the last step.
RUN_FAILED_STATUS = 1
INTERRUPTED_STATUS = 128 + signal.SIGINT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", choices=sorted(PRESETS), default=argparse.SUPPRESS,
                        help="named settings; flags given explicitly override them")
    add_dataclass_arguments(parser, TrainConfig, suppress_defaults=True)
    parser.add_argument("--attention_resolutions", type=text_parser(str, False, parse_resolution_list),
                        default=argparse.SUPPRESS,
                        help="comma list of feature-map sides with self-attention, in both nets (e.g. 64 or 32,64)")


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The `train` flags; every default is left out, so that only typed flags override the preset."""
    preset_lines = "\n".join(f"  {name}: {text}" for name, text in PRESET_HELP.items())
    parser = parser or argparse.ArgumentParser(prog="sagan-hf train")
    parser.description = DESCRIPTION
    parser.epilog = "Presets:\n" + preset_lines
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_arguments(parser)
    return parser


def config_from_args(argv: list[str] | None = None) -> TrainConfig:
    """Parse the command line into a TrainConfig (preset first, then the flags that were typed)."""
    given = vars(build_parser().parse_args(argv))
    return make_config(given.pop("preset", None), **given)


def run(args: argparse.Namespace) -> int:
    given = dict(vars(args))
    given.pop("command", None)
    config = make_config(given.pop("preset", None), **given)  # a bad value stops here, before anything starts
    from ..training.trainer import train

    from ..training.errors import TrainingRunError

    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    try:
        result = train(config)
    except TrainingRunError as error:  # a full disk, NaN losses: the message is the whole story
        if os.environ.get("SAGAN_HF_TRACEBACK") == "1":
            raise
        _say(f"error: {error}")
        return RUN_FAILED_STATUS
    except KeyboardInterrupt:
        _say("interrupted twice: stopped at once, without a checkpoint of the current step")
        return INTERRUPTED_STATUS
    if result.stopped_by_signal:
        _say(f"stopped after step {result.global_step} ({result.stop_reason}) with a checkpoint of it; "
             "continue with --resume_from_checkpoint latest")
        return result.exit_status
    print(f"trained to step {result.global_step} in {result.train_time_seconds:.0f} s; pipeline in {result.output_dir}")
    return 0


def _say(line: str) -> None:
    if is_first_process():
        print(line, file=sys.stderr, flush=True)


main = command_main(build_parser, run)


if __name__ == "__main__":
    sys.exit(main())

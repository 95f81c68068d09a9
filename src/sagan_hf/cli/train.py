"""`sagan-hf train` (also `accelerate launch scripts/train.py` and `accelerate launch -m sagan_hf.cli.train`).

Every flag comes from a field of `TrainConfig` (and `DataOptions`); only the flags a user types
override the chosen preset. `--attention_resolutions` sets both networks' placements at once.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import sys

from ..options import check_paths
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


def check_architecture(config: TrainConfig) -> None:
    """Run the networks' own checks of resolution, widths and attention placements before any data is read.

    A narrow build does it in a fraction of a second: width `ch mod 8` keeps the one width rule (attention
    needs a width divisible by 8). When it fails, the real build fails at the same check, before it makes
    any layer, so the message names this config's widths.
    """
    import torch

    from ..training.trainer import build_models

    num_classes = config.num_classes or 1  # the class count is known once the data is open; any will do
    with torch.random.fork_rng(devices=[]):
        try:
            build_models(dataclasses.replace(config, ch=config.ch % 8 or 8), num_classes)
        except ValueError:
            build_models(config, num_classes)
            raise


def check_before_training(config: TrainConfig) -> None:
    """Refuse what can be refused before the trainer makes folders or opens data (on every rank alike)."""
    from ..training.checkpointing import resolve_checkpoint
    from ..training.trainer import resolve_train_batch_size

    check_paths(config)  # data folder, output folder, evaluation files
    check_architecture(config)
    if config.resume_from_checkpoint != "latest":  # an explicit folder must exist; none must not mix two runs
        resolve_checkpoint(config.output_dir, config.resume_from_checkpoint)
    resolve_train_batch_size(config, int(os.environ.get("WORLD_SIZE", "1")))  # the launcher's process count
    if config.push_to_hub:
        from ..hub import HubTokenNotFoundError, check_repo_id, resolve_token

        check_repo_id(config.hub_model_id)
        try:
            resolve_token()
        except HubTokenNotFoundError as error:
            raise ValueError(f"--push_to_hub: {error}") from None


def run(args: argparse.Namespace) -> int:
    given = dict(vars(args))
    given.pop("command", None)
    config = make_config(given.pop("preset", None), **given)  # a bad value stops here, before anything starts
    check_before_training(config)
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

"""How every `sagan-hf` command reports bad input: one line on stderr, exit status 2, no traceback.

Under `accelerate launch` each rank runs the command; only the first prints, so a mistake is not
repeated once per process. `SAGAN_HF_TRACEBACK=1` shows the traceback (for bug reports).
"""

from __future__ import annotations

import os
import sys
from typing import Callable

USAGE_ERROR_STATUS = 2


def is_first_process() -> bool:
    """True unless a launcher says this is another rank (RANK / LOCAL_RANK set and not 0)."""
    return all(os.environ.get(name, "0") in ("0", "") for name in ("RANK", "LOCAL_RANK"))


def report_usage_error(message: str) -> int:
    """Print `error: message` (first process only) and return the usage-error exit status."""
    if is_first_process():
        print(f"error: {message}", file=sys.stderr, flush=True)
    return USAGE_ERROR_STATUS


def command_main(build_parser: Callable, run: Callable) -> Callable[[list[str] | None], int]:
    """The `main(argv)` of a sub-command module: parse, then `run(args)` reporting bad input in one line."""

    def main(argv: list[str] | None = None) -> int:
        args = build_parser().parse_args(argv)
        return run_reporting_errors(lambda: run(args))

    return main


def run_reporting_errors(command: Callable[[], int | None]) -> int:
    """Run `command`; a ValueError (bad input) becomes one line on stderr and exit status 2."""
    try:
        return command() or 0
    except ValueError as error:
        if os.environ.get("SAGAN_HF_TRACEBACK") == "1":
            raise
        return report_usage_error(" ".join(str(error).split()) or type(error).__name__)

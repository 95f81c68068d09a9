"""Options declared once: a dataclass field carries its help, its check and its command-line form.

`option(default, "help", check="positive")` makes a dataclass field whose metadata the `sagan-hf`
command turns into a flag (`sagan_hf.cli.arguments`) and `check_options` turns into validation, so a
setting is written in one place. Checks raise a ValueError naming the field, the value and what is
expected. A field naming a file or folder declares what it must be (`path="existing_dir"`, ...);
`check_paths` checks that when a command starts, before it creates folders or opens data.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Callable

# Each check: (test, what is expected). A None value passes the checks that end in "_or_none".
CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "positive": (lambda v: _is_int(v) and v >= 1, "a positive integer"),
    "positive_or_none": (lambda v: v is None or (_is_int(v) and v >= 1), "a positive integer or unset"),
    "non_negative": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    "positive_number": (lambda v: _is_number(v) and v > 0, "a number > 0"),
    "positive_number_or_none": (lambda v: v is None or (_is_number(v) and v > 0), "a number > 0 or unset"),
    "fraction": (lambda v: _is_number(v) and 0.0 <= v < 1.0, "a number in [0, 1)"),
    "device_or_none": (lambda v: v is None or _is_usable_device(v), "a device of this machine (cpu, cuda, cuda:N, mps) "
                       "or unset"),
}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_usable_device(text) -> bool:
    import torch

    try:
        device = torch.device(text)
    except (RuntimeError, TypeError, ValueError):
        return False
    if device.type == "cuda":
        return torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count()
    if device.type == "mps":
        return torch.backends.mps.is_available()
    return device.type == "cpu"


def option(
    default: Any = dataclasses.MISSING,
    help: str = "",
    *,
    check: str | None = None,
    choices: tuple | None = None,
    group: str | None = None,
    parse: Callable[[str], Any] | None = None,
    aliases: tuple[str, ...] = (),
    cli: bool = True,
    path: str | None = None,
) -> Any:
    """A dataclass field with its help text, check and flag settings.

    Args:
        default: the default value (a tuple for sequences); no default makes the flag required.
        help: one line for `--help`.
        check: a name from `CHECKS`, validated by `check_options`.
        choices: allowed values (checked, and listed by `--help`).
        group: the `--help` section the flag is shown in.
        parse: turns the flag's text into the value (default: from the field's type).
        aliases: other flag spellings kept for older command lines.
        cli: False keeps the field off the command line.
        path: a name from `PATH_CHECKS` for a field naming a file or folder, validated by `check_paths`.
    """
    if check is not None and check not in CHECKS:
        raise ValueError(f"unknown check {check!r}; known: {sorted(CHECKS)}")
    if path is not None and path not in PATH_CHECKS:
        raise ValueError(f"unknown path check {path!r}; known: {sorted(PATH_CHECKS)}")
    metadata = {"help": help, "check": check, "choices": choices, "group": group, "parse": parse,
                "aliases": aliases, "cli": cli, "path": path}
    return dataclasses.field(default=default, metadata=metadata)


def check_options(options) -> None:
    """Raise a ValueError for the first field of the dataclass `options` whose value fails its check."""
    for field in dataclasses.fields(options):
        value = getattr(options, field.name)
        check, choices = field.metadata.get("check"), field.metadata.get("choices")
        if check is not None:
            test, expected = CHECKS[check]
            if not test(value):
                raise ValueError(f"{field.name} must be {expected}, got {value!r}")
        if choices is not None and value is not None and value not in choices:
            raise ValueError(f"{field.name} must be one of {', '.join(map(str, choices))}; got {value!r}")


# ------------------------------------------------------------------------------------------------
# Paths: what a file or folder option needs to be usable, checked when a command starts.


def _first_existing(path: Path) -> Path:
    path = path.absolute()
    return next(p for p in (path, *path.parents) if p.exists())


def _output_dir_problem(path: Path) -> str | None:
    if path.exists() and not path.is_dir():
        return "is a file, not a folder"
    ancestor = _first_existing(path)
    if not ancestor.is_dir():
        return f"cannot be created: {ancestor} is a file"
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return f"cannot be written: no write permission in {ancestor}"
    return None


def _output_file_problem(path: Path) -> str | None:
    if path.is_dir():
        return "is a folder; expected a file name"
    problem = _output_dir_problem(path.parent)
    return None if problem is None else f"cannot be written: its folder {path.parent} {problem}"


def _existing_dir_problem(path: Path) -> str | None:
    return "does not exist" if not path.exists() else None if path.is_dir() else "is a file, not a folder"


def _existing_file_problem(path: Path) -> str | None:
    return "does not exist" if not path.exists() else "is a folder, not a file" if path.is_dir() else None


def _pipeline_folder_problem(path: Path) -> str | None:
    if not path.exists() or not path.is_dir():
        return "does not exist" if not path.exists() else "is a file; expected a saved pipeline folder"
    if not (path / "model_index.json").is_file():
        return "is not a saved pipeline folder (no model_index.json in it)"
    return None


def _pipeline_problem(path: Path) -> str | None:
    """A saved pipeline folder, or a Hub repo id (left to the Hub to answer) when no such path exists."""
    if path.exists():
        return _pipeline_folder_problem(path)
    from .hub.push import check_repo_id

    try:
        check_repo_id(str(path))
    except ValueError:
        return "does not exist, and is not a Hub repo id ('namespace/name') either"
    return None


# Each path check: a function of the path that returns what is wrong with it, or None. These run when a
# command starts (`check_paths`), not when options are built: options may describe another machine's files.
PATH_CHECKS: dict[str, Callable[[Path], str | None]] = {
    "existing_dir": _existing_dir_problem,
    "existing_file": _existing_file_problem,
    "output_dir": _output_dir_problem,
    "output_file": _output_file_problem,
    "pipeline": _pipeline_problem,
    "pipeline_folder": _pipeline_folder_problem,
}


def check_paths(options) -> None:
    """Raise a ValueError for the first path field of `options` (declared with `path=`) that cannot be used.

    Commands call this before they create folders or open data, so a wrong path costs nothing.
    """
    for field in dataclasses.fields(options):
        kind, value = field.metadata.get("path"), getattr(options, field.name)
        if kind is not None and value is not None:
            problem = PATH_CHECKS[kind](Path(value).expanduser())
            if problem is not None:
                raise ValueError(f"{field.name} {str(value)!r} {problem}")

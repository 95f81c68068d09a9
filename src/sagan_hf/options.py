"""Options declared once: a dataclass field carries its help, its check and its command-line form.

`option(default, "help", check="positive")` makes a dataclass field whose metadata the `sagan-hf`
command turns into a flag (`sagan_hf.cli.arguments`) and `check_options` turns into validation, so a
setting is written in one place. Checks raise a ValueError naming the field, the value and what is
expected.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

# Each check: (test, what is expected). A None value passes the checks that end in "_or_none".
CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "positive": (lambda v: _is_int(v) and v >= 1, "a positive integer"),
    "positive_or_none": (lambda v: v is None or (_is_int(v) and v >= 1), "a positive integer or unset"),
    "non_negative": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    "positive_number": (lambda v: _is_number(v) and v > 0, "a number > 0"),
    "positive_number_or_none": (lambda v: v is None or (_is_number(v) and v > 0), "a number > 0 or unset"),
    "fraction": (lambda v: _is_number(v) and 0.0 <= v < 1.0, "a number in [0, 1)"),
}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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
    """
    if check is not None and check not in CHECKS:
        raise ValueError(f"unknown check {check!r}; known: {sorted(CHECKS)}")
    metadata = {"help": help, "check": check, "choices": choices, "group": group, "parse": parse,
                "aliases": aliases, "cli": cli}
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

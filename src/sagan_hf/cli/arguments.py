"""Flags from option dataclasses: each field (`sagan_hf.options.option`) becomes one flag.

The field's type gives the flag's parser (`int`, `float`, `str`, `bool` as `--x/--no-x`, `X | None`
also accepting `none`), its metadata the help, choices, group and aliases. With `suppress_defaults`
the parsed namespace holds only the flags a user typed, so that they can override a preset.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any

NONE_WORDS = ("none", "")


def _base_type(annotation) -> tuple[type, bool]:
    """(the type, whether None is allowed) of `int`, `int | None`, `str | None`, ..."""
    if isinstance(annotation, (types.UnionType,)) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0], True
    return annotation, False


def text_parser(kind: type, optional: bool, parse):
    def parse_text(text: str):
        if optional and text.strip().lower() in NONE_WORDS:
            return None
        try:
            return parse(text) if parse is not None else kind(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parse_text.__name__ = getattr(parse, "__name__", kind.__name__)  # argparse names it in its errors
    return parse_text


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls, *, suppress_defaults: bool = False) -> None:
    """Add a flag per field of the dataclass `cls` (fields with `cli=False` metadata are left out)."""
    hints = typing.get_type_hints(cls)
    groups: dict[str | None, Any] = {}
    for field in dataclasses.fields(cls):
        meta = field.metadata
        if not meta.get("cli", True):
            continue
        group_name = meta.get("group")
        if group_name not in groups:
            groups[group_name] = parser.add_argument_group(group_name) if group_name else parser
        target = groups[group_name]
        kind, optional = _base_type(hints[field.name])
        flags = [f"--{field.name}", *meta.get("aliases", ())]
        required = field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
        default = argparse.SUPPRESS if suppress_defaults else (None if required else field.default)
        help_text = meta.get("help", "")
        if not required and not suppress_defaults and field.default not in (None, False, ()):
            help_text += f" (default: {field.default})"
        kwargs: dict[str, Any] = dict(dest=field.name, help=help_text, default=default)
        if kind is bool:  # --x / --no-x, and --no_x in the snake_case spelling of the other flags
            target.add_argument(*flags, action=argparse.BooleanOptionalAction, **kwargs)
            target.add_argument(f"--no_{field.name}", dest=field.name, action="store_false", help=argparse.SUPPRESS,
                                default=argparse.SUPPRESS)
            continue
        if meta.get("choices") is not None:
            kwargs["choices"] = meta["choices"]
        kwargs["type"] = text_parser(kind if kind in (int, float, str) else str, optional, meta.get("parse"))
        target.add_argument(*flags, required=required and not suppress_defaults, **kwargs)


def dataclass_from_args(cls, namespace: argparse.Namespace):
    """Build `cls` from the parsed flags (fields not on the command line keep their defaults)."""
    names = {field.name for field in dataclasses.fields(cls)}
    return cls(**{name: value for name, value in vars(namespace).items() if name in names})

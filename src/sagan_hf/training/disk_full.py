"""Telling a full disk from other write failures, and naming the file that was being written.

A full disk looks different to each writer: `OSError(ENOSPC)` from Python, a `SafetensorError` whose
message ends in "os error 28" (safetensors then deletes the file), and from `torch.save` a bare
"unexpected pos" RuntimeError without any errno. So the test is: an errno or message of a full disk
anywhere in the exception chain, or almost no free space left where we were writing. The file is
known because the writers (`torch.save`, safetensors' `save_file`) are watched while a checkpoint or
a pipeline is written.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import accelerate.utils.other
import safetensors.torch
import torch

_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_FULL_MESSAGES = ("no space left", "os error 28", "disk quota exceeded", "os error 122")
_ALMOST_FULL_BYTES = 1 << 20


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def is_disk_full(error: BaseException, folder: str | Path) -> bool:
    """True when `error`, raised while writing into `folder`, comes from a full disk (or quota)."""
    for link in _chain(error):
        if isinstance(link, OSError) and link.errno in _FULL_ERRNOS:
            return True
        if any(marker in str(link).lower() for marker in _FULL_MESSAGES):
            return True
    try:
        return shutil.disk_usage(folder).free < _ALMOST_FULL_BYTES
    except OSError:
        return False


class WriteWatch:
    """Remembers the last file handed to a watched writer (or announced with `writing`)."""

    def __init__(self):
        self.current: Path | None = None

    def writing(self, path: str | Path) -> None:
        self.current = Path(path)

    def _wrap(self, writer, path_position: int):
        def watched(*args, **kwargs):
            target = args[path_position] if len(args) > path_position else kwargs.get("filename", kwargs.get("f"))
            if isinstance(target, (str, os.PathLike)):
                self.writing(target)
            return writer(*args, **kwargs)

        return watched


@contextmanager
def watch_writes() -> Iterator[WriteWatch]:
    """Within the block, `watch.current` is the file torch / safetensors / accelerate are writing."""
    watch = WriteWatch()
    patched = [
        (torch, "save", 1),
        (safetensors.torch, "save_file", 1),
        (accelerate.utils.other, "safe_save_file", 1),
    ]
    originals = [(module, name, getattr(module, name)) for module, name, _ in patched]
    try:
        for (module, name, position), (_, _, original) in zip(patched, originals):
            setattr(module, name, watch._wrap(original, position))
        yield watch
    finally:
        for module, name, original in originals:
            setattr(module, name, original)

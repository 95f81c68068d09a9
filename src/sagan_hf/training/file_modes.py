"""Files a run writes get the permissions the user's umask asks for.

safetensors 0.8 creates its files with mode 0600 whatever the umask, so a checkpoint or a pipeline
saved on a shared machine could not be read by the rest of the team (or by a serving process running
as another user). Everything the trainer publishes goes through `apply_umask` first.
"""

from __future__ import annotations

import os
from pathlib import Path


def current_umask() -> int:
    """The process's umask, read without changing it where Linux allows (/proc), else set and restored."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def apply_umask(root: str | Path) -> None:
    """Give `root` and everything below it the mode a plain `open` / `mkdir` would: 0666 / 0777 minus the umask."""
    root = Path(root)
    mask = current_umask()
    for path in (root, *root.rglob("*")):
        if path.is_symlink():
            continue
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~mask)

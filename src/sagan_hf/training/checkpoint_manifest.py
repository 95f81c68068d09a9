"""The manifest of a checkpoint: size and SHA-256 of every file it holds, written last.

A checkpoint folder is published (renamed into place) only after its manifest is written, so every
`checkpoint-<step>` folder of this version has one. Verifying it before a resume finds a truncated,
overwritten or missing file and names it, instead of a traceback from deep inside a loader (or, for
an RNG-state file, a silent INFO line and a different random stream).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .errors import DamagedCheckpointError

MANIFEST_NAME = "checkpoint_manifest.json"
MANIFEST_VERSION = 1
_CHUNK = 1 << 20


def _size_and_sha256(path: Path, fsync: bool = False) -> tuple[int, str]:
    sha = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            sha.update(chunk)
            size += len(chunk)
        if fsync:  # the bytes hashed are the bytes on disk, also after a power loss
            os.fsync(handle.fileno())
    return size, sha.hexdigest()


def fsync_folder(folder: Path) -> None:
    """Make the folder's entries (new files, renames) durable."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def checkpoint_files(folder: Path) -> list[str]:
    """Every file of the checkpoint except the manifest, as sorted POSIX paths relative to it."""
    return sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and path.name != MANIFEST_NAME
    )


def write_manifest(folder: str | Path, step: int) -> Path:
    """Hash (and fsync) every file of `folder`, then write the manifest: call after all files are written."""
    folder = Path(folder)
    files = {}
    for name in checkpoint_files(folder):
        size, digest = _size_and_sha256(folder / name, fsync=True)
        files[name] = {"size": size, "sha256": digest}
    manifest = folder / MANIFEST_NAME
    with open(manifest, "w", encoding="utf-8") as handle:
        json.dump({"version": MANIFEST_VERSION, "step": step, "files": files}, handle, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    fsync_folder(folder)
    return manifest


def read_manifest(folder: str | Path) -> dict | None:
    """The manifest's file table, None when the checkpoint has none (written before manifests existed)."""
    folder = Path(folder)
    path = folder / MANIFEST_NAME
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        files = manifest["files"]
        if not isinstance(files, dict) or not all({"size", "sha256"} <= set(entry) for entry in files.values()):
            raise ValueError("no table of files with size and sha256")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DamagedCheckpointError(folder, MANIFEST_NAME, f"cannot be read ({error})") from None
    return files


def verify_checkpoint(folder: str | Path) -> bool:
    """Check every file against the manifest; True when verified, False when there is no manifest.

    Raises `DamagedCheckpointError` naming the first missing, resized or altered file. Sizes are
    compared first (cheap), then contents.
    """
    folder = Path(folder)
    files = read_manifest(folder)
    if files is None:
        return False
    for name, entry in files.items():
        path = folder / name
        if not path.is_file():
            raise DamagedCheckpointError(folder, name, "is missing")
        size = path.stat().st_size
        if size != entry["size"]:
            raise DamagedCheckpointError(
                folder, name, f"has {size} bytes where the manifest recorded {entry['size']} (truncated or overwritten)"
            )
    for name, entry in files.items():
        if _size_and_sha256(folder / name)[1] != entry["sha256"]:
            raise DamagedCheckpointError(folder, name, "does not match the SHA-256 recorded in the manifest (corrupted)")
    return True

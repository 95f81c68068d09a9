"""Resumable checkpoints `output_dir/checkpoint-<step>/` that are either complete and verified, or absent.

Every rank writes into `output_dir/.tmp-checkpoint-<step>/` (accelerate state: both nets, both
optimisers, the registered EMA and train state, RNG per rank; plus `data_state_rank{r}.json`, each
rank's stream position). When all ranks are done, the main process gives the files the umask's
permissions, writes `checkpoint_manifest.json` (size and SHA-256 of every file, everything fsynced)
and only then renames the folder to `checkpoint-<step>`. A kill at any moment leaves at worst a
`.tmp-*` folder, which `latest` ignores and the next run deletes; a full disk removes it at once.
Assumes `output_dir` is on a filesystem every rank sees (as Accelerate does).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import torch
from accelerate import Accelerator

from .agreement import first_of_all_ranks
from .checkpoint_manifest import (
    MANIFEST_NAME,
    fsync_folder,
    verify_checkpoint,
    write_manifest,
)
from .disk_full import is_disk_full, watch_writes
from .errors import CheckpointWriteError, DamagedCheckpointError
from .file_modes import apply_umask
from .pipeline_export import restore_interrupted_export

logger = logging.getLogger(__name__)

CHECKPOINT_PREFIX = "checkpoint-"
TEMP_PREFIX = ".tmp-"
_CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")
_DATA_STATE_RE = re.compile(r"^data_state_rank(\d+)\.json$")


def data_state_file(checkpoint: Path, rank: int) -> Path:
    return checkpoint / f"data_state_rank{rank}.json"


def rng_state_file(checkpoint: Path, rank: int) -> Path:
    return checkpoint / f"random_states_{rank}.pkl"  # accelerate's name


def list_checkpoints(output_dir: str | Path) -> list[tuple[int, Path]]:
    """Published checkpoints in `output_dir` as (step, path), oldest first."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return []
    found = []
    for path in output_dir.iterdir():
        match = _CHECKPOINT_RE.match(path.name)
        if match and path.is_dir():
            found.append((int(match.group(1)), path))
    return sorted(found)


def _verified(checkpoint: Path) -> Path:
    if not verify_checkpoint(checkpoint):
        logger.warning("%s has no manifest (written by an older version): resuming from it unverified", checkpoint)
    return checkpoint


def _latest_intact(output_dir: str | Path) -> Path | None:
    checkpoints = list_checkpoints(output_dir)
    if not checkpoints:
        logger.warning("resume_from_checkpoint=latest: no checkpoint in %s yet, starting a new run", output_dir)
        return None
    damaged = []
    for _, path in reversed(checkpoints):
        try:
            _verified(path)
        except DamagedCheckpointError as error:
            damaged.append(f"{path.name}: {error.file} {error.problem}")
            logger.warning("%s; trying the checkpoint before it", error)
            continue
        if damaged:
            logger.warning("resuming from %s, the newest intact checkpoint", path)
        return path
    raise ValueError(
        f"resume_from_checkpoint=latest: no intact checkpoint in {output_dir} ({'; '.join(damaged)}); "
        "start a new run in another --output_dir"
    )


def resolve_checkpoint(output_dir: str | Path, spec: str | None) -> Path | None:
    """The checkpoint to resume from, verified against its manifest (main process only).

    `latest`: the newest intact checkpoint (a warning names each damaged one skipped), None when there
    is none yet. A path: that checkpoint, refused with a `DamagedCheckpointError` naming the bad file.
    """
    if spec is None:
        existing = list_checkpoints(output_dir)
        if existing:
            # A new run here would prune its own (lower-numbered) checkpoints first, and `latest` would
            # later pick the old run's: refuse rather than mix two runs in one folder.
            raise ValueError(
                f"{output_dir} already holds checkpoints of a run (up to {existing[-1][1].name}): pass "
                "--resume_from_checkpoint latest to continue it, or choose another --output_dir"
            )
        return None
    if spec == "latest":
        return _latest_intact(output_dir)
    path = Path(spec)
    if not path.is_dir() and (Path(output_dir) / spec).is_dir():
        path = Path(output_dir) / spec
    if not path.is_dir():
        raise ValueError(f"resume_from_checkpoint: {spec!r} is not a folder; give 'latest' or a checkpoint-<step> folder")
    return _verified(path)


def remove_stale_temporaries(output_dir: str | Path) -> None:
    """Delete `.tmp-*` folders left by a run that was killed while writing (main process only)."""
    output_dir = Path(output_dir)
    if output_dir.is_dir():
        restore_interrupted_export(output_dir)  # before its folder goes: it may hold the only copy
        for path in output_dir.glob(TEMP_PREFIX + "*"):
            logger.warning("removing %s, left incomplete by an interrupted run", path)
            shutil.rmtree(path, ignore_errors=True)


def prune_checkpoints(output_dir: str | Path, total_limit: int | None) -> None:
    """Keep the newest `total_limit` checkpoints."""
    if total_limit is None:
        return
    checkpoints = list_checkpoints(output_dir)
    for _, path in checkpoints[: max(0, len(checkpoints) - total_limit)]:
        logger.info("removing old checkpoint %s (checkpoints_total_limit=%d)", path, total_limit)
        shutil.rmtree(path, ignore_errors=True)


def disk_full_message(output_dir: str | Path, written: Path | None, folder: Path) -> str:
    """'no space left while writing <file>; checkpoint-N is intact' (the newest published checkpoint)."""
    where = written if written is not None else folder
    try:
        where = Path(where).relative_to(Path(output_dir))
    except ValueError:
        pass
    where = str(where).replace(f"{TEMP_PREFIX}{CHECKPOINT_PREFIX}", CHECKPOINT_PREFIX)
    intact = list_checkpoints(output_dir)
    previous = f"{intact[-1][1].name} is intact" if intact else "no earlier checkpoint was written"
    return f"no space left while writing {where} in {output_dir}; {previous}"


def _write_rank_files(accelerator: Accelerator, temporary: Path, data_state: dict) -> str | None:
    """This rank's part of the checkpoint; a disk-full message instead of an exception when space runs out."""
    with watch_writes() as watch:
        try:
            accelerator.save_state(str(temporary))
            data_file = data_state_file(temporary, accelerator.process_index)
            watch.writing(data_file)
            data_file.write_text(json.dumps(data_state), encoding="utf-8")
        except Exception as error:
            if not is_disk_full(error, temporary):
                raise
            return disk_full_message(temporary.parent, watch.current, temporary)
    return None


def _seal(output_dir: Path, temporary: Path, step: int) -> str | None:
    """Manifest and permissions (main process); a disk-full message when the manifest does not fit."""
    try:
        write_manifest(temporary, step)
    except OSError as error:
        if not is_disk_full(error, temporary):
            raise
        return disk_full_message(output_dir, temporary / MANIFEST_NAME, temporary)
    apply_umask(temporary)
    return None


def save_checkpoint(
    accelerator: Accelerator, output_dir: str | Path, step: int, data_state: dict, total_limit: int | None = None
) -> Path:
    """Write `checkpoint-<step>` from every rank, then publish it by a rename. Call on all ranks.

    Raises `CheckpointWriteError` on every rank when the disk fills up, after deleting the partial folder.
    """
    output_dir = Path(output_dir)
    temporary = output_dir / f"{TEMP_PREFIX}{CHECKPOINT_PREFIX}{step}"
    final = output_dir / f"{CHECKPOINT_PREFIX}{step}"
    if accelerator.is_main_process:
        shutil.rmtree(temporary, ignore_errors=True)
        temporary.mkdir(parents=True)
    accelerator.wait_for_everyone()
    failure = first_of_all_ranks(accelerator, _write_rank_files(accelerator, temporary, data_state))
    if failure is None and accelerator.is_main_process:
        failure = _seal(output_dir, temporary, step)
    failure = first_of_all_ranks(accelerator, failure if accelerator.is_main_process else None)
    if failure is not None:
        if accelerator.is_main_process:
            shutil.rmtree(temporary, ignore_errors=True)
        accelerator.wait_for_everyone()
        raise CheckpointWriteError(failure)
    if accelerator.is_main_process:
        if final.exists():  # the same step saved again after a resume: the new one replaces it
            shutil.rmtree(final)
        temporary.rename(final)
        fsync_folder(output_dir)
        prune_checkpoints(output_dir, total_limit)
    accelerator.wait_for_everyone()
    return final


def load_data_states(checkpoint: Path) -> list[dict]:
    """Every rank's saved stream position, in rank order (any process may need all of them: elastic resume)."""
    found = {}
    for path in checkpoint.iterdir():
        match = _DATA_STATE_RE.match(path.name)
        if match:
            try:
                found[int(match.group(1))] = json.loads(path.read_text(encoding="utf-8"))
            except ValueError as error:
                raise DamagedCheckpointError(checkpoint, path.name, f"is not valid JSON ({error})") from None
    if sorted(found) != list(range(len(found))):
        raise DamagedCheckpointError(
            checkpoint, f"data_state_rank{min(set(range(len(found) + 1)) - set(found))}.json", "is missing"
        )
    return [found[rank] for rank in range(len(found))]


def check_rng_state(checkpoint: Path, rank: int, saved_by: int) -> None:
    """Make sure this rank's RNG state loads (accelerate would only log an INFO line and go on)."""
    path = rng_state_file(checkpoint, rank)
    if not path.exists():
        if rank >= saved_by:
            logger.warning(
                "%s was written by %d process(es): rank %d has no saved random state and draws from its seed",
                checkpoint, saved_by, rank,
            )
            return
        raise DamagedCheckpointError(checkpoint, path.name, "is missing")
    try:
        torch.load(path, weights_only=False)
    except Exception as error:  # any unpickling failure means the file is damaged
        raise DamagedCheckpointError(checkpoint, path.name, f"cannot be loaded ({type(error).__name__}: {error})") from None

"""Resumable checkpoints `output_dir/checkpoint-<step>/` that are either complete or absent.

Every rank writes into `output_dir/.tmp-checkpoint-<step>/` (accelerate state: both nets, both
optimisers, the registered EMA and train state, RNG per rank; plus `data_state_rank{r}.json`, each
rank's stream position). Only when all ranks are done does the main process rename the folder to
`checkpoint-<step>`: a kill at any moment leaves at worst a `.tmp-*` folder, which `latest` ignores
and the next run deletes. Assumes `output_dir` is on a filesystem every rank sees (as Accelerate does).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

from accelerate import Accelerator

from .pipeline_export import restore_interrupted_export

logger = logging.getLogger(__name__)

CHECKPOINT_PREFIX = "checkpoint-"
TEMP_PREFIX = ".tmp-"
_CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")


def data_state_file(checkpoint: Path, rank: int) -> Path:
    return checkpoint / f"data_state_rank{rank}.json"


def list_checkpoints(output_dir: str | Path) -> list[tuple[int, Path]]:
    """Complete checkpoints in `output_dir` as (step, path), oldest first."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return []
    found = []
    for path in output_dir.iterdir():
        match = _CHECKPOINT_RE.match(path.name)
        if match and path.is_dir():
            found.append((int(match.group(1)), path))
    return sorted(found)


def resolve_checkpoint(output_dir: str | Path, spec: str | None) -> Path | None:
    """The checkpoint to resume from: `latest` (None when there is none yet) or an explicit folder."""
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
        checkpoints = list_checkpoints(output_dir)
        if not checkpoints:
            logger.warning("resume_from_checkpoint=latest: no checkpoint in %s yet, starting a new run", output_dir)
            return None
        return checkpoints[-1][1]
    path = Path(spec)
    if not path.is_dir() and (Path(output_dir) / spec).is_dir():
        path = Path(output_dir) / spec
    if not path.is_dir():
        raise ValueError(f"resume_from_checkpoint: {spec!r} is not a folder; give 'latest' or a checkpoint-<step> folder")
    return path


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


def save_checkpoint(
    accelerator: Accelerator, output_dir: str | Path, step: int, data_state: dict, total_limit: int | None = None
) -> Path:
    """Write `checkpoint-<step>` from every rank, then publish it by a rename. Call on all ranks."""
    output_dir = Path(output_dir)
    temporary = output_dir / f"{TEMP_PREFIX}{CHECKPOINT_PREFIX}{step}"
    final = output_dir / f"{CHECKPOINT_PREFIX}{step}"
    if accelerator.is_main_process:
        shutil.rmtree(temporary, ignore_errors=True)
        temporary.mkdir(parents=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(temporary))
    data_state_file(temporary, accelerator.process_index).write_text(json.dumps(data_state), encoding="utf-8")
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        if final.exists():  # the same step saved again after a resume: the new one replaces it
            shutil.rmtree(final)
        temporary.rename(final)
        prune_checkpoints(output_dir, total_limit)
    accelerator.wait_for_everyone()
    return final


def load_data_state(checkpoint: Path, rank: int) -> dict | None:
    """This rank's saved stream position, or None (with a warning) when the checkpoint has none for it."""
    path = data_state_file(checkpoint, rank)
    if not path.is_file():
        logger.warning("%s has no data position for rank %d: its stream starts from the beginning", checkpoint, rank)
        return None
    return json.loads(path.read_text(encoding="utf-8"))

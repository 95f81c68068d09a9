"""Saving the EMA pipeline into the run folder so that `SAGANPipeline.from_pretrained(output_dir)` works."""

from __future__ import annotations

import shutil
from pathlib import Path

from torch import nn

from ..pipelines import SAGANPipeline
from .file_modes import apply_umask

_TEMP_NAME = ".tmp-pipeline"
_OLD_NAME = ".tmp-pipeline-old"


def build_pipeline(
    ema_generator: nn.Module, discriminator: nn.Module | None, class_names: list[str] | None = None
) -> SAGANPipeline:
    """A pipeline of the EMA generator (eval mode) and the unwrapped discriminator, with the dataset's
    class names as its `id2label` when the dataset has them."""
    num_classes = ema_generator.config.num_classes
    id2label = dict(enumerate(class_names)) if class_names and len(class_names) == num_classes else None
    return SAGANPipeline(generator=ema_generator.eval(), discriminator=discriminator, id2label=id2label)


def save_pipeline(pipeline: SAGANPipeline, output_dir: str | Path) -> None:
    """Save into `output_dir`, replacing the previous pipeline there (main process only).

    The new files are written to a temporary folder first (and given the umask's permissions); then
    each entry (model_index.json last) replaces the old one, so the folder never holds a half-written
    weights file.
    """
    output_dir = Path(output_dir)
    temporary, old = output_dir / _TEMP_NAME, output_dir / _OLD_NAME
    shutil.rmtree(temporary, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    pipeline.save_pretrained(temporary)
    apply_umask(temporary)  # safetensors writes 0600
    old.mkdir()
    entries = sorted(temporary.iterdir(), key=lambda p: p.name == "model_index.json")
    for entry in entries:
        target = output_dir / entry.name
        if target.exists():
            target.rename(old / entry.name)
        entry.rename(target)
    shutil.rmtree(temporary, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)


def restore_interrupted_export(output_dir: str | Path) -> None:
    """Put back entries a kill left only in the old-pipeline folder (between the two renames above)."""
    output_dir = Path(output_dir)
    old = output_dir / _OLD_NAME
    if not old.is_dir():
        return
    for entry in old.iterdir():
        target = output_dir / entry.name
        if not target.exists():
            entry.rename(target)

"""Sample grids and attention figures written from a pipeline (used by scripts/sample.py and the demo)."""

import json
from collections.abc import Sequence
from pathlib import Path

import PIL.Image
import torch
from diffusers.utils import make_image_grid

from .visualization import save_attention_maps


def class_rows_grid(pipe, classes: Sequence[int] | None, per_class: int, seed: int, truncation=None) -> PIL.Image.Image:
    """One row of `per_class` samples for each class (or `per_class` unconditional samples per row)."""
    rows = list(classes) if classes is not None else [None]
    images = []
    generator = torch.Generator().manual_seed(seed)
    for label in rows:
        labels = None if label is None else [label] * per_class
        images += pipe(class_labels=labels, batch_size=per_class, generator=generator, truncation=truncation).images
    return make_image_grid(images, rows=len(rows), cols=per_class)


def write_samples(
    pipe,
    output_dir: str | Path,
    *,
    classes: Sequence[int] | None = None,
    class_names: Sequence[str] | None = None,
    per_class: int = 8,
    seed: int = 0,
    truncation: float | None = None,
    attention_maps: bool = True,
) -> dict:
    """Write a grid per class, one grid of all classes, and the attention figure; return what was written."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    num_classes = pipe.generator.config.num_classes
    if num_classes == 0:
        classes = None
    elif classes is None:
        classes = list(range(min(num_classes, 16)))
    written = {"grids": {}}
    for label in classes or []:
        name = class_names[label] if class_names else str(label)
        path = output_dir / f"class_{label:04d}_{name}.png"
        class_rows_grid(pipe, [label], per_class, seed, truncation).save(path)
        written["grids"][name] = str(path)
    all_path = output_dir / "samples_grid.png"
    class_rows_grid(pipe, classes, per_class, seed, truncation).save(all_path)
    written["samples_grid"] = str(all_path)
    if attention_maps and pipe.generator.config.attention_resolutions:
        labels = None if classes is None else list(classes)[:4]
        out = pipe(
            class_labels=labels, batch_size=4 if labels is None else None, generator=torch.Generator().manual_seed(seed),
            truncation=truncation, output_attentions=True,
        )
        cell = max(128, pipe.generator.config.sample_size)
        written["attention_maps"] = str(save_attention_maps(output_dir / "attention_maps.png", out.images, out.attentions, cell_size=cell))
    (output_dir / "samples.json").write_text(json.dumps(written, indent=2))
    return written

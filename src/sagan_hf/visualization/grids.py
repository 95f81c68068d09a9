"""Sample grids and figures drawn from a pipeline: `sagan-hf sample`, the demo report, model cards and
the trainer's validation grid all use these."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import PIL.Image
import torch
from diffusers.utils import make_image_grid

from .attention import DEFAULT_QUERY_POINTS, attention_overlay_image, save_attention_maps
from .classes import spread_classes


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
        classes = spread_classes(num_classes, 16)
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


def class_columns_grid(pipeline, rows: int = 2, seed: int = 0, max_classes: int = 8) -> tuple[PIL.Image.Image, str]:
    """A grid with one column per class (up to `max_classes`, spread) and `rows` latents; and its caption."""
    config = pipeline.generator.config
    generator = torch.Generator().manual_seed(seed)
    if config.num_classes > 0:
        labels = spread_classes(config.num_classes, max_classes)
        images = pipeline(class_labels=labels * rows, generator=generator).images
        cols = len(labels)
        caption = (f"Samples for classes {', '.join(map(str, labels))} (one column per class, "
                   f"{rows} latents per class, seed {seed}).")
    else:
        cols = 4
        images = pipeline(batch_size=rows * cols, generator=generator).images
        caption = f"{rows * cols} random samples (seed {seed})."
    return upscale_small(make_image_grid(images, rows=rows, cols=cols), config.sample_size), caption


def attention_figure(pipeline, rows: int = 2, seed: int = 0) -> tuple[PIL.Image.Image, str] | None:
    """The generator's highest-resolution attention for a few query locations, and its caption.

    Returns None for a generator without attention layers.
    """
    config = pipeline.generator.config
    if not config.attention_resolutions:
        return None
    generator = torch.Generator().manual_seed(seed)
    if config.num_classes > 0:
        output = pipeline(class_labels=spread_classes(config.num_classes, rows), generator=generator,
                          output_attentions=True)
    else:
        output = pipeline(batch_size=rows, generator=generator, output_attentions=True)
    figure = attention_overlay_image(output.images, output.attentions, DEFAULT_QUERY_POINTS, layer=-1)
    resolution = max(config.attention_resolutions)
    caption = (f"Self-attention of the generator's {resolution}x{resolution} layer. Left: a sample with "
               f"{len(DEFAULT_QUERY_POINTS)} query locations marked; then, for each location, the map of how "
               "much the generator attends to every other region when it synthesises that location "
               "(bright = more attention, contrast stretched per map).")
    return figure, caption


MIN_CELL_PIXELS = 128  # small models (32 px) are upscaled so that a figure shows something visible


def upscale_small(image: PIL.Image.Image, side: int) -> PIL.Image.Image:
    """Nearest-neighbour upscale of a grid of `side`-pixel cells to at least MIN_CELL_PIXELS per cell."""
    factor = max(1, MIN_CELL_PIXELS // side)
    if factor == 1:
        return image
    return image.resize((image.width * factor, image.height * factor), PIL.Image.NEAREST)

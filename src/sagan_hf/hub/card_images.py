"""Images shown on the model card: a grid of samples and a map of what the self-attention looks at."""

from __future__ import annotations

from pathlib import Path

import PIL.Image
import torch
from diffusers.utils import make_image_grid

SAMPLES_IMAGE = "samples.png"
ATTENTION_IMAGE = "attention.png"
CARD_SEED = 0
_MAX_CLASSES_SHOWN = 8
_MIN_CELL_PIXELS = 128  # small models (32 px) are upscaled so that the card shows something visible


def grid_class_labels(num_classes: int, count: int = _MAX_CLASSES_SHOWN) -> list[int]:
    """Up to `count` class indices spread evenly over [0, num_classes)."""
    if num_classes <= count:
        return list(range(num_classes))
    step = num_classes / count
    return [int(i * step) for i in range(count)]


def _upscale(image: PIL.Image.Image, side: int) -> PIL.Image.Image:
    factor = max(1, _MIN_CELL_PIXELS // side)
    if factor == 1:
        return image
    return image.resize((image.width * factor, image.height * factor), PIL.Image.NEAREST)


def sample_grid(pipeline, rows: int = 2, seed: int = CARD_SEED) -> tuple[PIL.Image.Image, str]:
    """A grid of samples (one column per class for a conditional model) and its caption."""
    config = pipeline.generator.config
    generator = torch.Generator().manual_seed(seed)
    if config.num_classes > 0:
        labels = grid_class_labels(config.num_classes)
        images = pipeline(class_labels=labels * rows, generator=generator).images
        cols = len(labels)
        caption = (f"Samples for classes {', '.join(map(str, labels))} (one column per class, "
                   f"{rows} latents per class, seed {seed}).")
    else:
        cols = 4
        images = pipeline(batch_size=rows * cols, generator=generator).images
        caption = f"{rows * cols} random samples (seed {seed})."
    grid = make_image_grid(images, rows=rows, cols=cols)
    return _upscale(grid, config.sample_size), caption


def attention_figure(pipeline, rows: int = 2, seed: int = CARD_SEED) -> tuple[PIL.Image.Image, str] | None:
    """The attention of the generator's highest-resolution attention layer for a few query locations.

    Returns None for a generator without attention layers.
    """
    from sagan_hf.visualization import DEFAULT_QUERY_POINTS, attention_overlay_image

    config = pipeline.generator.config
    if not config.attention_resolutions:
        return None
    generator = torch.Generator().manual_seed(seed)
    if config.num_classes > 0:
        output = pipeline(class_labels=grid_class_labels(config.num_classes, rows), generator=generator,
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


def save_card_images(pipeline, folder: str | Path) -> dict:
    """Writes `samples.png` (and `attention.png` when G has attention) into `folder`.

    Returns the `render_model_card` keyword arguments that describe them.
    """
    folder = Path(folder)
    grid, sample_caption = sample_grid(pipeline)
    grid.save(folder / SAMPLES_IMAGE)
    found = {"sample_image": SAMPLES_IMAGE, "sample_caption": sample_caption}
    attention = attention_figure(pipeline)
    if attention is not None:
        figure, caption = attention
        figure.save(folder / ATTENTION_IMAGE)
        found.update(attention_image=ATTENTION_IMAGE, attention_caption=caption)
    return found

"""The images a model card shows: a grid of samples and the attention figure (drawn by `visualization`)."""

from __future__ import annotations

from pathlib import Path

from ..visualization import attention_figure, class_columns_grid

SAMPLES_IMAGE = "samples.png"
ATTENTION_IMAGE = "attention.png"
CARD_SEED = 0


def save_card_images(pipeline, folder: str | Path) -> dict:
    """Writes `samples.png` (and `attention.png` when G has attention) into `folder`.

    Returns the `render_model_card` keyword arguments that describe them.
    """
    folder = Path(folder)
    grid, sample_caption = class_columns_grid(pipeline, seed=CARD_SEED)
    grid.save(folder / SAMPLES_IMAGE)
    found = {"sample_image": SAMPLES_IMAGE, "sample_caption": sample_caption}
    attention = attention_figure(pipeline, seed=CARD_SEED)
    if attention is not None:
        figure, caption = attention
        figure.save(folder / ATTENTION_IMAGE)
        found.update(attention_image=ATTENTION_IMAGE, attention_caption=caption)
    return found

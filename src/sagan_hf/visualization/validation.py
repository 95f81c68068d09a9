"""The trainer's validation grid: samples of the EMA generator from fixed noise and fixed classes."""

from __future__ import annotations

import torch
from diffusers.utils import make_image_grid
from PIL import Image
from torch import nn

from .classes import spread_classes


def fixed_validation_inputs(
    num_classes: int, z_dim: int, images_per_class: int, max_classes: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor | None, int, int]:
    """(z, labels, rows, cols): one row per class (classes spread evenly over all), the same every call."""
    generator = torch.Generator().manual_seed(seed)
    if num_classes:
        classes = torch.tensor(spread_classes(num_classes, max_classes))
        rows, labels = len(classes), classes.repeat_interleave(images_per_class)
    else:
        rows, labels = max_classes, None
    z = torch.randn(rows * images_per_class, z_dim, generator=generator)
    return z, labels, rows, images_per_class


@torch.no_grad()
def render_validation_grid(generator: nn.Module, z: torch.Tensor, labels, rows: int, cols: int) -> Image.Image:
    """Sample the (EMA) generator through the pipeline on the fixed inputs; one class per row."""
    from ..pipelines import SAGANPipeline  # the same sampling and image conversion as every user gets

    pipe = SAGANPipeline(generator=generator)
    pipe.set_progress_bar_config(disable=True)
    images = pipe(class_labels=labels, latents=z, output_type="pil").images
    return make_image_grid(images, rows=rows, cols=cols)

"""The validation grid: samples of the EMA generator from fixed noise and fixed classes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from diffusers.utils import make_image_grid
from PIL import Image
from torch import nn


def fixed_validation_inputs(
    num_classes: int, z_dim: int, images_per_class: int, max_classes: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor | None, int, int]:
    """(z, labels, rows, cols): one row per class (classes spread evenly over all), the same every call."""
    generator = torch.Generator().manual_seed(seed)
    if num_classes:
        rows = min(num_classes, max_classes)
        classes = torch.linspace(0, num_classes - 1, rows).round().long()
        labels = classes.repeat_interleave(images_per_class)
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


def save_and_log_grid(grid: Image.Image, output_dir: str | Path, step: int, accelerator: Accelerator) -> Path:
    """Write samples/step_<step>.png and send the grid to the trackers that take images."""
    path = Path(output_dir) / "samples" / f"step_{step:08d}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(path)
    for tracker in accelerator.trackers:
        if tracker.name == "tensorboard":
            tracker.log_images({"validation/samples": np.asarray(grid)[None]}, step=step, dataformats="NHWC")
        elif hasattr(tracker, "log_images"):
            try:
                tracker.log_images({"validation/samples": [grid]}, step=step)
            except Exception:  # a tracker that takes images in another form: the PNG is on disk anyway
                pass
    return path

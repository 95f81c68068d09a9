"""Where the validation grid goes: a PNG per step in output_dir/samples, and the trackers that take images."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from accelerate import Accelerator
from PIL import Image

logger = logging.getLogger(__name__)


def save_and_log_grid(grid: Image.Image, output_dir: str | Path, step: int, accelerator: Accelerator) -> Path:
    """Write samples/step_<step>.png and send the grid to the trackers that take images."""
    path = Path(output_dir) / "samples" / f"step_{step:08d}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(path)
    for tracker in accelerator.trackers:
        if tracker.name == "tensorboard":
            tracker.log_images({"validation/samples": np.asarray(grid)[None]}, step=step, dataformats="NHWC")
        elif hasattr(tracker, "log_images"):
            # wandb (and most others that take images) get a list of PIL images under the same tag
            try:
                tracker.log_images({"validation/samples": [grid]}, step=step)
            except Exception as error:  # a tracker that takes images in another form: the PNG is on disk anyway
                logger.warning("tracker %s did not take the validation grid (%s); it is in %s", tracker.name, error, path)
    return path

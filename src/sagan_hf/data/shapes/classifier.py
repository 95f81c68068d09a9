"""A small CNN that tells the five ``shapes`` classes apart, to score class-conditional samples.

The demo asks its generator for each class and reports the fraction of samples this classifier
puts in the class that was asked for (chance is 20%). Trained weights are cached as safetensors
next to the dataset, so a second demo run does not train again.
"""

from __future__ import annotations

import logging
import contextlib
import os
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm.auto import tqdm

from ...cpu_threads import package_threads_for_block
from ..decode import decode_image, to_model_range
from .dataset import ensure_shapes_dataset
from .drawing import SHAPES_CLASSES

logger = logging.getLogger(__name__)

CLASSIFIER_VERSION = 1  # bump when the architecture or training changes: old caches are ignored


WORK_RESOLUTION = 32  # larger inputs are scaled down to this: the shapes are plain at 32 px


class ShapesClassifier(nn.Module):
    """Three stride-2 conv blocks and a linear head; takes images in [-1, 1].

    Inputs are resized to ``min(resolution, 32)`` pixels first, so one classifier scores samples of
    any size and stays cheap (a few ms a batch on one core).
    """

    def __init__(self, resolution: int = 32, num_classes: int = len(SHAPES_CLASSES), width: int = 16):
        super().__init__()
        self.resolution = resolution
        self.work_resolution = min(resolution, WORK_RESOLUTION)
        self.num_classes = num_classes

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]

        self.features = nn.Sequential(
            *block(3, width), *block(width, 2 * width), *block(2 * width, 4 * width)
        )
        self.head = nn.Linear(4 * width, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Class logits [B, num_classes] for images [B, 3, H, W] in [-1, 1]."""
        size = self.work_resolution
        if images.shape[-2:] != (size, size):
            images = F.interpolate(
                images, size=(size, size), mode="bilinear", antialias=True, align_corners=False
            )
        return self.head(self.features(images).mean(dim=(2, 3)))


def load_shapes_images(
    folder: str | os.PathLike, split: str, resolution: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """All images of one split of a shapes folder: uint8 [N, 3, R, R] and int64 labels [N].

    Decoded with the training stream's own decode, so the classifier sees what the GAN sees.
    """
    files = sorted(Path(folder).glob(f"{split}-*.parquet"))
    if not files:
        raise ValueError(f"no {split!r} parquet shards in {str(folder)!r}")
    images, labels = [], []
    for path in files:
        table = pq.read_table(path, columns=["image", "label"])
        for cell in table.column("image").to_pylist():
            images.append(decode_image(cell, resolution))
        labels.extend(table.column("label").to_pylist())
    pixels = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    return pixels, torch.tensor(labels, dtype=torch.int64)


@torch.no_grad()
def class_accuracy(classifier: nn.Module, images: torch.Tensor, class_labels, batch_size: int = 256) -> float:
    """Fraction of ``images`` (float in [-1, 1], [N, 3, H, W]) classified as their ``class_labels``."""
    labels = torch.as_tensor(class_labels, dtype=torch.int64).flatten()
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be [N, 3, H, W], got shape {tuple(images.shape)}")
    if labels.numel() != images.shape[0]:
        raise ValueError(f"got {images.shape[0]} images but {labels.numel()} class labels")
    if images.shape[0] == 0:
        raise ValueError("class_accuracy needs at least one image")
    was_training = classifier.training
    classifier.eval()
    device = next(classifier.parameters()).device
    correct = 0
    for start in range(0, images.shape[0], batch_size):
        chunk = images[start : start + batch_size].to(device=device, dtype=torch.float32)
        predicted = classifier(chunk).argmax(dim=1).cpu()
        correct += int((predicted == labels[start : start + batch_size]).sum())
    classifier.train(was_training)
    return correct / images.shape[0]


def classifier_cache_path(dataset_dir: str | os.PathLike, resolution: int, seed: int) -> Path:
    """Where the weights for these settings are cached, inside the dataset folder."""
    return Path(dataset_dir) / f"classifier-v{CLASSIFIER_VERSION}-res{resolution}-seed{seed}.safetensors"


def _train(model: ShapesClassifier, pixels: torch.Tensor, labels: torch.Tensor, *, max_seconds: float,
           num_steps: int, batch_size: int, generator: torch.Generator, threads=None) -> int:
    """Adam with a linearly decaying learning rate; returns the number of steps run."""
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: max(0.02, 1.0 - step / num_steps))
    start = time.monotonic()
    model.train()
    for step in tqdm(range(num_steps), desc="Training the shapes classifier", unit="step", leave=False):
        with threads.timed() if threads is not None else contextlib.nullcontext():
            index = torch.randint(0, pixels.shape[0], (batch_size,), generator=generator)
            loss = F.cross_entropy(model(to_model_range(pixels[index])), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        if time.monotonic() - start > max_seconds:
            logger.warning("Shapes classifier stopped by max_seconds=%s after %d of %d steps",
                           max_seconds, step + 1, num_steps)
            return step + 1
    return num_steps


def train_shapes_classifier(
    resolution: int = 32,
    max_seconds: float = 30.0,
    seed: int = 0,
    *,
    dataset_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
    num_steps: int = 600,
    batch_size: int = 64,
) -> ShapesClassifier:
    """Train (or load from the cache) a shapes classifier; returned on CPU in eval mode.

    Args:
        resolution: image size it classifies (other sizes are resized in ``forward``).
        max_seconds: training time limit (a warning says when it cut the schedule short).
        seed: seeds the initialisation and batch order.
        dataset_dir: a shapes folder; defaults to the built-in set (``ensure_shapes_dataset``).
        use_cache: load cached weights when present, and cache newly trained ones.
        num_steps, batch_size: length of the schedule (600 steps take about 5-15 s on one core)
            and its batch size.

    The held-out accuracy on the ``test`` split is logged and stored with the cached weights
    (``classifier.held_out_accuracy``).
    """
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 8:
        raise ValueError(f"resolution must be an integer >= 8, got {resolution!r}")
    if not max_seconds > 0:
        raise ValueError(f"max_seconds must be > 0, got {max_seconds!r}")
    if dataset_dir is None:
        dataset_dir = ensure_shapes_dataset(resolution=max(64, resolution))
    folder = Path(dataset_dir)
    cache = classifier_cache_path(folder, resolution, seed)
    model = ShapesClassifier(resolution=resolution)
    if use_cache and cache.is_file():
        model.load_state_dict(load_file(cache))
        model.held_out_accuracy = float(_read_metadata(cache).get("held_out_accuracy", "nan"))
        return model.eval()

    torch.manual_seed(seed)
    model = ShapesClassifier(resolution=resolution)
    with package_threads_for_block() as threads:  # the package-wide CPU thread policy (cpu_threads.py)
        pixels, labels = load_shapes_images(folder, "train", resolution)
        _train(model, pixels, labels, max_seconds=max_seconds, num_steps=num_steps, batch_size=batch_size,
               generator=torch.Generator().manual_seed(seed), threads=threads)
        model.eval()
        test_pixels, test_labels = load_shapes_images(folder, "test", resolution)
        model.held_out_accuracy = class_accuracy(model, to_model_range(test_pixels), test_labels)
    logger.info("Shapes classifier at %d px: held-out accuracy %.4f", resolution, model.held_out_accuracy)
    if use_cache:
        temporary = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
        metadata = {"held_out_accuracy": repr(model.held_out_accuracy)}
        save_file(model.state_dict(), temporary, metadata=metadata)
        os.replace(temporary, cache)  # atomic: a reader never sees half a file
    return model


def _read_metadata(path: Path) -> dict:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        return handle.metadata() or {}

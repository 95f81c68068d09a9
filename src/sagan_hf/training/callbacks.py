"""Hooks into the training loop: see each step's batches, and the networks at the end of a run."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn


class TrainCallback:
    """Base class for `train(config, callbacks=[...])`; every method is called on every rank.

    Keep them cheap: `on_batches` runs inside the training loop, before each step.
    """

    def on_batches(self, batches: list[dict[str, torch.Tensor]], step: int) -> None:
        """The micro-batches (`pixel_values`, `class_labels`) that step `step` is about to train on."""

    def on_train_end(
        self, *, generator: nn.Module, discriminator: nn.Module, global_step: int, rank: int, output_dir: Path
    ) -> None:
        """After the final checkpoint and pipeline were written; the networks are the unwrapped ones."""

"""What a conversion records about its source: the project, and the published checkpoint if known.

A published checkpoint's entry carries what the weights cannot tell (architecture facts such as the
BatchNorm epsilon of its config, the colour order it was trained on) and what the model card repeats:
its dataset, the scores its authors reported and the sampling recipe behind them.
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class SourceProject:
    """A code base whose checkpoints we convert."""

    name: str  # "MMGeneration"
    url: str  # its repository
    license: str  # the licence id of its published weights, for the card metadata ("apache-2.0", "mit")


@dataclasses.dataclass(frozen=True)
class PublishedCheckpoint:
    """One checkpoint file as its source published it."""

    file: str  # the published file name (or path inside the source's Hub repo)
    url: str  # where to download it
    dataset: str
    resolution: int
    num_classes: int
    scores: dict[str, float]  # as reported by the source, e.g. {"IS": 69.54, "FID": 12.83}
    scores_protocol: str  # how the source computed them, in its own words' substance
    sampling: dict[str, Any]  # the recipe behind the scores: EMA, truncation, standing statistics
    facts: dict[str, Any] = dataclasses.field(default_factory=dict)  # architecture facts not in the weights

    def record(self) -> dict[str, Any]:
        """The JSON-ready part of a conversion record that describes this checkpoint."""
        return {
            "file": self.file, "url": self.url, "dataset": self.dataset, "resolution": self.resolution,
            "num_classes": self.num_classes, "reported_scores": dict(self.scores),
            "scores_protocol": self.scores_protocol,
        }

"""The Inception options shared by `sagan-hf evaluate` and `sagan-hf reference-stats`."""

from __future__ import annotations

from dataclasses import dataclass

from ..evaluation.resize import RESIZE_MODES
from ..evaluation.weights import WEIGHTS_ENV_VAR, WEIGHTS_FILENAME
from ..options import option


@dataclass(kw_only=True)
class InceptionOptions:
    inception_weights: str | None = option(
        None, f"path of {WEIGHTS_FILENAME} (default: ${WEIGHTS_ENV_VAR}, then the torch hub cache, downloading "
        "there when possible)", group="inception", path="existing_file")
    resize_mode: str = option("tf_bilinear", "resize to 299: TF1 bilinear as in the papers, or clean-fid's PIL bicubic",
                              choices=RESIZE_MODES, group="inception")
    download: bool = option(True, "download the Inception weights when they are missing", group="inception")
    device: str | None = option(None, "cpu or cuda (default: cuda when available)", check="device_or_none",
                                group="inception")

    def resolved_device(self) -> str:
        import torch

        return self.device or ("cuda" if torch.cuda.is_available() else "cpu")

    def load_extractor(self):
        """The verified standard extractor; a ValueError (one line, exit 2) when the weights are not there."""
        from ..evaluation import InceptionWeightsError, load_inception_extractor

        try:
            return load_inception_extractor(
                self.inception_weights, resize_mode=self.resize_mode, device=self.resolved_device(),
                download=self.download,
            )
        except InceptionWeightsError as error:
            raise ValueError(str(error)) from error

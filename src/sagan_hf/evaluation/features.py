"""Raw images -> Inception pool features and logits, with the FID preprocessing protocol.

Build one :class:`InceptionFeatureExtractor` (``load_inception_extractor``) and reuse it: loading
and hashing the weights costs a second or two, every call afterwards only runs the network.
"""

from __future__ import annotations

import contextlib
import os

import torch

from .inception import INCEPTION_INPUT_SIZE, FIDInceptionV3
from .resize import check_resize_mode, quantize_to_uint8_range, resize_pixels
from .weights import WeightsInfo, load_fid_inception


@contextlib.contextmanager
def _full_fp32_precision(device: torch.device):
    """On CUDA, turns TF32 off for convs and matmuls while features are computed (FID is fp32)."""
    if device.type != "cuda":
        yield
        return
    saved = []
    for backend in (getattr(torch.backends.cudnn, "conv", None), torch.backends.cuda.matmul):
        try:
            previous = backend.fp32_precision
            backend.fp32_precision = "ieee"
            saved.append((backend, previous))
        except (AttributeError, RuntimeError):  # older torch: leave its defaults alone
            pass
    try:
        yield
    finally:
        for backend, value in saved:
            backend.fp32_precision = value


class InceptionFeatureExtractor:
    """Callable: images [B, 3, H, W] (float in [0, 1] or uint8) -> (features [B, 2048], logits [B, 1008]).

    Images are quantised to 8 bits, resized to 299 with ``resize_mode``, mapped to (v - 128) / 128 and
    run through the network in float32 (autocast off), whatever dtype the images come in.
    Logits are the bias-free ones of the original Inception Score code.
    """

    def __init__(
        self,
        network: FIDInceptionV3,
        weights: WeightsInfo,
        *,
        resize_mode: str = "tf_bilinear",
        device: str | torch.device | None = None,
    ) -> None:
        self.resize_mode = check_resize_mode(resize_mode)
        self.device = torch.device(device) if device is not None else next(network.parameters()).device
        self.network = network.eval().requires_grad_(False).to(self.device, torch.float32)
        self.weights = weights

    @property
    def standard_weights(self) -> bool:
        """True only with the standard FID weights file: only then are the numbers FID/IS."""
        return self.weights.standard

    @property
    def weights_sha256(self) -> str:
        return self.weights.sha256

    @torch.inference_mode()
    def __call__(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must have shape [B, 3, H, W], got {tuple(images.shape)}")
        pixels = quantize_to_uint8_range(images.to(self.device))
        pixels = resize_pixels(pixels, INCEPTION_INPUT_SIZE, self.resize_mode)
        net_input = (pixels - 128.0) / 128.0
        with torch.autocast(self.device.type, enabled=False), _full_fp32_precision(self.device):
            features, logits = self.network(net_input.float())
        return features.float(), logits.float()


def load_inception_extractor(
    weights_path: str | os.PathLike | None = None,
    *,
    resize_mode: str = "tf_bilinear",
    device: str | torch.device | None = None,
    download: bool = True,
    allow_nonstandard_weights: bool = False,
) -> InceptionFeatureExtractor:
    """Loads the verified FID Inception network once, ready to reuse (e.g. by the trainer).

    See :func:`~sagan_hf.evaluation.weights.load_fid_inception` for where the weights come from and
    when it refuses. ``device`` defaults to CUDA when available.
    """
    check_resize_mode(resize_mode)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    network, info = load_fid_inception(
        weights_path, download=download, allow_nonstandard_weights=allow_nonstandard_weights, device=device
    )
    return InceptionFeatureExtractor(network, info, resize_mode=resize_mode, device=device)

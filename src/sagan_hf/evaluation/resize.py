"""Image quantisation and the two resize protocols to the Inception input size.

- ``"tf_bilinear"``: the bilinear resize of TensorFlow 1.x (``align_corners=False`` without half-pixel
  centres) that sits inside the 2015 Inception graph, so it is what the original FID and IS code (and
  thus the SAGAN/BigGAN papers) computed. PyTorch's own bilinear uses half-pixel centres and differs.
- ``"clean_pil_bicubic"``: the clean-fid protocol: each channel as a float32 PIL image, PIL bicubic
  (antialiased) resize, clipped to [0, 255].

Both work on pixel values in [0, 255] (float), after quantising to 8 bits as saving to PNG would.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

RESIZE_MODES = ("tf_bilinear", "clean_pil_bicubic")


def check_resize_mode(resize_mode: str) -> str:
    """Returns ``resize_mode`` if it is known, else raises a ValueError listing the known ones."""
    if resize_mode not in RESIZE_MODES:
        raise ValueError(f"resize_mode must be one of {RESIZE_MODES}, got {resize_mode!r}")
    return resize_mode


def quantize_to_uint8_range(images: torch.Tensor) -> torch.Tensor:
    """Float images in [0, 1] (or uint8 images) -> float32 pixel values rounded to integers in [0, 255]."""
    if images.dtype == torch.uint8:
        return images.float()
    if not images.is_floating_point():
        raise ValueError(f"images must be uint8 or floating point in [0, 1], got dtype {images.dtype}")
    return torch.round(images.float().clamp(0.0, 1.0) * 255.0)


def _tf1_bilinear_matrix(in_size: int, out_size: int, device, dtype) -> torch.Tensor:
    """[out_size, in_size] interpolation weights of TF1's legacy bilinear resize along one axis."""
    scale = in_size / out_size
    src = torch.arange(out_size, dtype=torch.float64) * scale
    lower = torch.floor(src).long().clamp(max=in_size - 1)
    upper = (lower + 1).clamp(max=in_size - 1)
    frac = src - lower.double()
    weights = torch.zeros(out_size, in_size, dtype=torch.float64)
    rows = torch.arange(out_size)
    weights.index_put_((rows, lower), 1.0 - frac, accumulate=True)
    weights.index_put_((rows, upper), frac, accumulate=True)
    return weights.to(device=device, dtype=dtype)


def tf_bilinear_resize(pixels: torch.Tensor, size: int) -> torch.Tensor:
    """TF1-compatible bilinear resize of float images [B, C, H, W] to [B, C, size, size]."""
    _, _, height, width = pixels.shape
    rows = _tf1_bilinear_matrix(height, size, pixels.device, pixels.dtype)
    cols = _tf1_bilinear_matrix(width, size, pixels.device, pixels.dtype)
    # Separable: interpolate rows, then columns, as two small matrix products.
    return torch.einsum("oh,bchw,pw->bcop", rows, pixels, cols)


def clean_pil_bicubic_resize(pixels: torch.Tensor, size: int) -> torch.Tensor:
    """clean-fid style resize: per image and channel, PIL bicubic on float32 data, clipped to [0, 255]."""
    array = pixels.detach().to("cpu", torch.float32).numpy()
    out = np.empty((*array.shape[:2], size, size), dtype=np.float32)
    for b in range(array.shape[0]):
        for c in range(array.shape[1]):
            channel = Image.fromarray(np.ascontiguousarray(array[b, c]))  # float32 -> PIL mode "F"
            out[b, c] = np.asarray(channel.resize((size, size), resample=Image.Resampling.BICUBIC))
    return torch.from_numpy(np.clip(out, 0.0, 255.0)).to(pixels.device)


def resize_pixels(pixels: torch.Tensor, size: int, resize_mode: str) -> torch.Tensor:
    """Resizes pixel values [B, 3, H, W] in [0, 255] to ``size`` with the given protocol."""
    check_resize_mode(resize_mode)
    if pixels.ndim != 4 or pixels.shape[1] != 3:
        raise ValueError(f"images must have shape [B, 3, H, W], got {tuple(pixels.shape)}")
    if resize_mode == "tf_bilinear":
        return tf_bilinear_resize(pixels, size)
    return clean_pil_bicubic_resize(pixels, size)

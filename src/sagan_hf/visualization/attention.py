"""Pictures of where the self-attention looks: the paper's figure of query locations and their maps.

Pure PIL + numpy (no matplotlib): each row is one image; the first cell shows the image with the query
points marked, each further cell the attention map of one query point over the image, in that point's
colour frame.
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import PIL.Image
import PIL.ImageDraw
import torch

# Anchor colours of a perceptually ordered dark-to-bright map (black, purple, red-orange, yellow).
_HEAT_ANCHORS = np.array([[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]], dtype=np.float64)
_QUERY_COLOURS = [(0, 255, 255), (0, 255, 0), (255, 0, 255), (255, 255, 255), (255, 128, 0), (64, 128, 255)]
DEFAULT_QUERY_POINTS = ((0.3, 0.3), (0.7, 0.5), (0.4, 0.75))


def _heat_colours(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] to RGB uint8 by piecewise-linear interpolation between the anchors."""
    positions = np.clip(values, 0.0, 1.0) * (len(_HEAT_ANCHORS) - 1)
    low = np.floor(positions).astype(int).clip(0, len(_HEAT_ANCHORS) - 2)
    frac = (positions - low)[..., None]
    return (_HEAT_ANCHORS[low] * (1 - frac) + _HEAT_ANCHORS[low + 1] * frac).round().astype(np.uint8)


def _to_uint8_images(images) -> list[np.ndarray]:
    """Accept PIL images, a float array (B, H, W, 3) in [0, 1] or a tensor (B, 3, H, W) in [0, 1]."""
    if isinstance(images, torch.Tensor):
        images = images.detach().float().clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy()
    if isinstance(images, np.ndarray):
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"images as an array must have shape (B, H, W, 3), got {images.shape}")
        return [(image * 255).round().clip(0, 255).astype(np.uint8) for image in images]
    return [np.asarray(image.convert("RGB")) for image in images]


def attention_map_for_query(attention: torch.Tensor, query_point: tuple[float, float]) -> np.ndarray:
    """The (s/2, s/2) map of one image's attention (N, N/4) for a query at relative (x, y) in [0, 1)."""
    num_queries = attention.shape[-2]
    side = int(round(num_queries**0.5))
    if side * side != num_queries or attention.shape[-1] * 4 != num_queries:
        raise ValueError(f"expected an attention map of shape (N, N/4) with N a square, got {tuple(attention.shape)}")
    x, y = query_point
    if not (0 <= x < 1 and 0 <= y < 1):
        raise ValueError(f"query points are relative (x, y) in [0, 1), got {query_point}")
    row, col = int(y * side), int(x * side)
    return attention[row * side + col].detach().float().reshape(side // 2, side // 2).cpu().numpy()


def heat_overlay(base: PIL.Image.Image, heat: np.ndarray, alpha: float = 0.65) -> PIL.Image.Image:
    """`base` (RGB) blended with the map `heat` (any 2-D size, stretched bilinearly over it) in the heat colours.

    The map is min-max scaled first: attention is often nearly uniform, and contrast is what the
    figure is for.
    """
    heat = np.asarray(heat, dtype=np.float64)
    heat = (heat - heat.min()) / max(float(heat.max() - heat.min()), 1e-12)
    heat_image = PIL.Image.fromarray(_heat_colours(heat)).resize(base.size, PIL.Image.BILINEAR)
    return PIL.Image.blend(base.convert("RGB"), heat_image, alpha)


def attention_overlay_image(
    images,
    attentions: Sequence[torch.Tensor] | torch.Tensor,
    query_points: Sequence[tuple[float, float]] = DEFAULT_QUERY_POINTS,
    *,
    layer: int = -1,
    cell_size: int = 128,
    alpha: float = 0.65,
) -> PIL.Image.Image:
    """Draw each image with its query points, then one attention overlay per query point.

    Args:
        images: the generated images (PIL list, array (B, H, W, 3) or tensor (B, 3, H, W), in [0, 1]).
        attentions: the pipeline's `attentions` (one (B, N, N/4) tensor per layer) or one such tensor.
        query_points: relative (x, y) positions in [0, 1) of the query locations.
        layer: which attention layer to show when several are given (default: the last, highest resolution).
        cell_size: side in pixels of each cell of the figure.
        alpha: weight of the heat map over the image.

    Returns:
        A PIL image with one row per image and `1 + len(query_points)` columns.
    """
    attention = attentions if isinstance(attentions, torch.Tensor) else attentions[layer]
    pictures = _to_uint8_images(images)
    if attention.ndim != 3 or attention.shape[0] != len(pictures):
        raise ValueError(
            f"attentions must be (B, N, N/4) with B = {len(pictures)} images, got {tuple(attention.shape)}"
        )
    if not query_points:
        raise ValueError("give at least one query point")
    columns = 1 + len(query_points)
    sheet = PIL.Image.new("RGB", (columns * cell_size, len(pictures) * cell_size), (0, 0, 0))
    draw = PIL.ImageDraw.Draw(sheet)
    radius = max(2, cell_size // 32)
    for row, picture in enumerate(pictures):
        base = PIL.Image.fromarray(picture).resize((cell_size, cell_size), PIL.Image.NEAREST)
        top = row * cell_size
        sheet.paste(base, (0, top))
        for index, point in enumerate(query_points):
            colour = _QUERY_COLOURS[index % len(_QUERY_COLOURS)]
            cell = heat_overlay(base, attention_map_for_query(attention[row], point), alpha)
            left = (index + 1) * cell_size
            sheet.paste(cell, (left, top))
            draw.rectangle([left, top, left + cell_size - 1, top + cell_size - 1], outline=colour, width=2)
            for x0 in (0, left):  # mark the query on the plain image and on its own map
                cx, cy = x0 + point[0] * cell_size, top + point[1] * cell_size
                draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=colour, outline=(0, 0, 0))
    return sheet


def save_attention_maps(path: str | Path, images, attentions, query_points=DEFAULT_QUERY_POINTS, **kwargs) -> Path:
    """Write `attention_overlay_image(...)` as a PNG and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    attention_overlay_image(images, attentions, query_points, **kwargs).save(path, format="PNG")
    return path

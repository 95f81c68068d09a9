"""Drawing one ``shapes`` image: a bright shape of one class on a dark background.

Bright-on-dark matters: with arbitrary colour pairs a small GAN spends its first minutes learning
colour blobs and the class shapes do not show within a CPU demo's budget (DESIGN.md section 4).
"""

from __future__ import annotations

import colorsys
import math

import numpy as np
from PIL import Image, ImageDraw

SHAPES_CLASSES = ("circle", "square", "triangle", "plus", "ring")
SUPERSAMPLING = 2  # drawn at twice the size then box-filtered down: smooth edges, still fast


def _colour(rng: np.random.Generator, value_low: float, value_high: float) -> tuple[int, int, int]:
    hue, saturation = rng.uniform(0.0, 1.0), rng.uniform(0.3, 1.0)
    value = rng.uniform(value_low, value_high)
    return tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(hue, saturation, value))


def bright_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    """A random colour of high brightness (HSV value 0.85-1)."""
    return _colour(rng, 0.85, 1.0)


def dark_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    """A random colour of low brightness (HSV value 0-0.3)."""
    return _colour(rng, 0.0, 0.3)


def _draw_shape(
    draw: ImageDraw.ImageDraw, name: str, cx: float, cy: float, r: float, fill, background
) -> None:
    if name == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    elif name == "square":
        half = r * 0.85  # a square of the same radius looks much bigger than a circle
        draw.rectangle((cx - half, cy - half, cx + half, cy + half), fill=fill)
    elif name == "triangle":
        points = [
            (cx + r * math.cos(math.radians(angle)), cy - r * math.sin(math.radians(angle)))
            for angle in (90.0, 210.0, 330.0)
        ]
        draw.polygon(points, fill=fill)
    elif name == "plus":
        arm = r * 0.3
        draw.rectangle((cx - r, cy - arm, cx + r, cy + arm), fill=fill)
        draw.rectangle((cx - arm, cy - r, cx + arm, cy + r), fill=fill)
    elif name == "ring":
        inner = r * 0.55
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
        draw.ellipse((cx - inner, cy - inner, cx + inner, cy + inner), fill=background)
    else:
        raise ValueError(f"unknown shape {name!r}; expected one of {SHAPES_CLASSES}")


def draw_shape_image(class_index: int, resolution: int, rng: np.random.Generator) -> Image.Image:
    """One RGB image of class ``SHAPES_CLASSES[class_index]`` at random size, position and colours.

    The radius is 20-38% of the image side and the whole shape stays inside the image.
    """
    if not 0 <= class_index < len(SHAPES_CLASSES):
        raise ValueError(f"class_index must be in [0, {len(SHAPES_CLASSES)}), got {class_index}")
    size = resolution * SUPERSAMPLING
    background, fill = dark_colour(rng), bright_colour(rng)
    radius = rng.uniform(0.2, 0.38) * size
    margin = radius + 1
    cx, cy = rng.uniform(margin, size - margin, size=2)
    image = Image.new("RGB", (size, size), background)
    _draw_shape(ImageDraw.Draw(image), SHAPES_CLASSES[class_index], cx, cy, radius, fill, background)
    return image.resize((resolution, resolution), Image.Resampling.BOX)

"""The attention explorer's logic, without the web page: generation and one-query attention overlays.

Image i of a generation uses its own random generator seeded with `seed + i`, so any single image can
be made again alone (the attention of a clicked image regenerates just that image) and the same
inputs always give the same images.
"""

from __future__ import annotations

import threading
from pathlib import Path

import PIL.Image
import PIL.ImageDraw
import torch

from ..visualization import heat_overlay
from .query_attention import capture_attention_inputs, query_attention

MAX_IMAGES = 16
DISPLAY_SIDE = 256  # images are shown at least this large (nearest-neighbour), so pixels can be clicked
UNCONDITIONAL = "(unconditional)"


def _whole_number(value, name: str, low: int = 0) -> int:
    """An integer >= low from a number that may arrive as a float (web forms send floats)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < low:
        raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}")
    return int(value)


class Explorer:
    """Generate images of a `SAGANPipeline` and show where a chosen pixel attends, layer by layer."""

    def __init__(self, pipe, display_side: int = DISPLAY_SIDE):
        if not len(getattr(pipe.generator, "attentions", ())):
            raise ValueError("this generator has no self-attention layer: there is nothing to explore")
        pipe.set_progress_bar_config(disable=True)
        pipe.generator.eval()
        self.pipe = pipe
        config = pipe.generator.config
        self.side = config.sample_size
        self.scale = max(1, -(-display_side // self.side))  # ceil: display side >= display_side
        if config.num_classes == 0:
            self.class_names = [UNCONDITIONAL]
        elif pipe.id2label:
            self.class_names = [pipe.id2label[i] for i in range(config.num_classes)]
        else:
            self.class_names = [str(i) for i in range(config.num_classes)]
        self._index = {name: i for i, name in enumerate(self.class_names)}
        self._lock = threading.Lock()  # one forward at a time: the hooks record into a shared module

    @classmethod
    def from_pretrained(cls, pipeline: str, device: str | None = None, **kwargs) -> "Explorer":
        """Load a folder written by `save_pretrained`/training, or a Hub repo id, with `SAGANPipeline`."""
        from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

        from ..pipelines import SAGANPipeline

        folder = Path(pipeline)
        if folder.is_dir() and not (folder / "model_index.json").is_file():
            raise ValueError(f"{folder} is not a saved pipeline folder (no model_index.json in it)")
        try:
            pipe = SAGANPipeline.from_pretrained(pipeline, **kwargs)
        except (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError) as error:
            raise ValueError(f"cannot load {pipeline!r}: no such pipeline folder here, and the Hub answered: "
                             f"{str(error).splitlines()[0]}") from None
        return cls(pipe.to(device or ("cuda" if torch.cuda.is_available() else "cpu")))

    @property
    def attention_resolutions(self) -> list[int]:
        return [int(r) for r in self.pipe.generator.attentions]

    def description(self) -> str:
        config = self.pipe.generator.config
        classes = "unconditional" if config.num_classes == 0 else f"{config.num_classes} classes"
        layers = ", ".join(f"{r}x{r}" for r in self.attention_resolutions)
        return f"{self.side} px generator, {classes}, self-attention at {layers}"

    # -- inputs ---------------------------------------------------------------------------------------
    def _class_label(self, class_name: str) -> int | None:
        if class_name not in self._index:
            shown = ", ".join(self.class_names[:5]) + (", ..." if len(self.class_names) > 5 else "")
            raise ValueError(f"unknown class {class_name!r}; choose one of this model's classes ({shown})")
        return None if class_name == UNCONDITIONAL else self._index[class_name]

    @staticmethod
    def _truncation(truncation) -> float | None:
        if isinstance(truncation, bool) or not isinstance(truncation, (int, float)) or truncation < 0:
            raise ValueError(f"truncation must be a number >= 0 (0: off), got {truncation!r}")
        return float(truncation) or None

    def _sample(self, class_name: str, seeds: list[int], truncation) -> list[PIL.Image.Image]:
        label = self._class_label(class_name)
        generators = [torch.Generator().manual_seed(seed) for seed in seeds]
        labels = None if label is None else [label] * len(seeds)
        return self.pipe(class_labels=labels, generator=generators, truncation=self._truncation(truncation)).images

    def enlarge(self, image: PIL.Image.Image) -> PIL.Image.Image:
        """The image at display size (nearest neighbour: one generated pixel = scale x scale screen pixels)."""
        return image.resize((self.side * self.scale,) * 2, PIL.Image.NEAREST)

    # -- the two actions --------------------------------------------------------------------------------
    def generate(self, class_name: str, seed, truncation, num_images) -> list[tuple[PIL.Image.Image, str]]:
        """`num_images` images of a class (image i from seed + i), at display size, with captions."""
        seed, count = _whole_number(seed, "seed"), _whole_number(num_images, "the number of images", 1)
        if count > MAX_IMAGES:
            raise ValueError(f"the number of images must be at most {MAX_IMAGES}, got {count}")
        with self._lock:
            images = self._sample(class_name, [seed + i for i in range(count)], truncation)
        return [(self.enlarge(image), f"{class_name}, seed {seed + i}") for i, image in enumerate(images)]

    def image(self, class_name: str, seed, truncation, image_index) -> PIL.Image.Image:
        """Image `image_index` of `generate(...)`, at display size (made alone)."""
        seed, index = _whole_number(seed, "seed"), _whole_number(image_index, "the image index")
        with self._lock:
            return self.enlarge(self._sample(class_name, [seed + index], truncation)[0])

    def attention(self, class_name: str, seed, truncation, image_index, x, y) -> list[tuple[PIL.Image.Image, str]]:
        """Where pixel (x, y) of image `image_index` attends in each attention layer.

        Returns the image with the query marked, then one overlay per layer (low to high resolution),
        each with a caption. x and y are pixels of the generated image, 0 .. side-1 from the top left.
        """
        seed, index = _whole_number(seed, "seed"), _whole_number(image_index, "the image index")
        x, y = _whole_number(x, "x"), _whole_number(y, "y")
        if x >= self.side or y >= self.side:
            raise ValueError(f"the query pixel must lie in the {self.side}x{self.side} image, got ({x}, {y})")
        point = ((x + 0.5) / self.side, (y + 0.5) / self.side)
        with self._lock, capture_attention_inputs(self.pipe.generator) as captured:
            image = self._sample(class_name, [seed + index], truncation)[0]
            layers = query_attention(self.pipe.generator, captured, point)
        base = self.enlarge(image)
        results = [(self._mark(base, x, y), f"{class_name}, seed {seed + index}: query pixel ({x}, {y})")]
        for layer in layers:
            caption = (f"{layer.resolution}x{layer.resolution} layer, gamma {layer.gamma:+.2f}: query cell {layer.cell}, "
                       f"peak {layer.weights.max():.3f}")
            results.append((self._mark(heat_overlay(base, layer.weights), x, y), caption))
        return results

    def _mark(self, picture: PIL.Image.Image, x: int, y: int) -> PIL.Image.Image:
        """A copy of `picture` with a ring around the query pixel."""
        picture = picture.copy()
        cx, cy = (x + 0.5) * self.scale, (y + 0.5) * self.scale
        radius = max(4, picture.width // 40)
        draw = PIL.ImageDraw.Draw(picture)
        draw.ellipse([cx - radius - 1, cy - radius - 1, cx + radius + 1, cy + radius + 1], outline=(0, 0, 0), width=4)
        draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], outline=(0, 255, 255), width=2)
        return picture

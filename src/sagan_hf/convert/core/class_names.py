"""Class names (`id2label`) for converted models: ImageNet-1k and CIFAR-10 in their standard order.

The ImageNet list ships as `sagan_hf/convert/imagenet_classes.txt` (its header says where it comes
from). Names are WordNet lemmas such as "tench, Tinca tinca": the pipeline accepts any of the
comma-separated synonyms in `get_label_ids`.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
CLASS_NAME_CHOICES = ("auto", "imagenet", "cifar10", "none")


@lru_cache(maxsize=1)
def imagenet_class_names() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names, index i naming class i."""
    text = resources.files("sagan_hf.convert").joinpath("imagenet_classes.txt").read_text(encoding="utf-8")
    names = tuple(line.split("\t", 1)[1] for line in text.splitlines() if line and not line.startswith("#"))
    if len(names) != 1000:
        raise RuntimeError(f"imagenet_classes.txt holds {len(names)} class names instead of 1000")
    return names


def class_names_id2label(choice: str, num_classes: int, resolution: int) -> dict[int, str] | None:
    """The id2label to store: "imagenet", "cifar10", "none", or "auto".

    "auto" names the 1000 classes of a 1000-class model with ImageNet's and the 10 classes of a
    10-class 32x32 model with CIFAR-10's (the datasets of every published checkpoint of that shape);
    other class counts (e.g. the 100-class ImageNet subsets) get no names.
    """
    if choice not in CLASS_NAME_CHOICES:
        raise ValueError(f"class names must be one of {', '.join(CLASS_NAME_CHOICES)}; got {choice!r}")
    if choice == "auto":
        choice = "imagenet" if num_classes == 1000 else "cifar10" if (num_classes, resolution) == (10, 32) else "none"
    if choice == "none":
        return None
    names = imagenet_class_names() if choice == "imagenet" else CIFAR10_CLASSES
    if len(names) != num_classes:
        raise ValueError(f"{choice} has {len(names)} classes but the model has {num_classes}; "
                         "use class names 'none' (or the matching set)")
    return dict(enumerate(names))

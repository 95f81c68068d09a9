"""The built-in ``shapes`` dataset (5 classes of bright shapes on dark backgrounds) and its classifier."""

from .classifier import ShapesClassifier, class_accuracy, train_shapes_classifier
from .dataset import ensure_shapes_dataset, shapes_cache_root
from .drawing import SHAPES_CLASSES, draw_shape_image

__all__ = [
    "SHAPES_CLASSES",
    "ShapesClassifier",
    "class_accuracy",
    "draw_shape_image",
    "ensure_shapes_dataset",
    "shapes_cache_root",
    "train_shapes_classifier",
]

"""The shapes classifier: near-perfect on held-out real shapes after a few seconds, then cached."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sagan_hf.data.shapes import SHAPES_CLASSES, draw_shape_image, ensure_shapes_dataset
from sagan_hf.data.shapes.classifier import class_accuracy, classifier_cache_path, train_shapes_classifier


def fresh_shapes(count: int, resolution: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """New draws, independent of the dataset files: images in [-1, 1] and their classes."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % len(SHAPES_CLASSES)
    images = np.stack([np.asarray(draw_shape_image(int(c), resolution, rng)) for c in labels])
    pixels = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1
    return pixels, torch.from_numpy(labels)


@pytest.fixture(scope="module")
def shapes_dir(tmp_path_factory):
    # A smaller set than the built-in default keeps drawing and loading to a second or two.
    return ensure_shapes_dataset(tmp_path_factory.mktemp("shapes"), num_images=3000, num_test_images=500)


@pytest.fixture(scope="module")
def classifier(shapes_dir):
    return train_shapes_classifier(resolution=32, max_seconds=10, seed=0, dataset_dir=shapes_dir)


@pytest.mark.slow
def test_classifier_beats_90_percent_on_held_out_shapes(classifier):
    assert not classifier.training
    assert classifier.held_out_accuracy > 0.9  # on the dataset's test split
    images, labels = fresh_shapes(250, 32, seed=12345)
    assert class_accuracy(classifier, images, labels) > 0.9
    # Larger samples are resized inside the classifier: 64 px images score as well.
    images64, labels64 = fresh_shapes(100, 64, seed=54321)
    assert class_accuracy(classifier, images64, labels64) > 0.9


def test_accuracy_counts_wrong_classes_as_misses(classifier):
    images, labels = fresh_shapes(100, 32, seed=7)
    wrong = (labels + 1) % len(SHAPES_CLASSES)
    assert class_accuracy(classifier, images, wrong) < 0.2


def test_second_call_loads_the_cached_weights(classifier, shapes_dir):
    assert classifier_cache_path(shapes_dir, 32, 0).is_file()
    # With no time to train, only a cache hit can give the same weights back.
    again = train_shapes_classifier(resolution=32, max_seconds=0.001, seed=0, dataset_dir=shapes_dir)
    for name, tensor in classifier.state_dict().items():
        assert torch.equal(tensor, again.state_dict()[name]), name
    assert again.held_out_accuracy == pytest.approx(classifier.held_out_accuracy)


def test_bad_inputs_raise(classifier):
    with pytest.raises(ValueError, match="images but"):
        class_accuracy(classifier, torch.zeros(3, 3, 32, 32), [0, 1])
    with pytest.raises(ValueError, match=r"\[N, 3, H, W\]"):
        class_accuracy(classifier, torch.zeros(3, 32, 32), [0, 1, 2])
    with pytest.raises(ValueError, match="resolution"):
        train_shapes_classifier(resolution=4)

"""The explorer's logic without the web page: one query's attention row, generation, inputs."""

import numpy as np
import pytest
import torch

from sagan_hf import SAGANGenerator, SAGANPipeline
from sagan_hf.app import Explorer, attention_row, capture_attention_inputs, query_attention
from explorer_app import SHAPES, small_pipeline


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _generator_with_two_layers():
    """32 px, attention at 8x8 and 16x16, gammas away from 0 so the first layer shapes the second's input."""
    torch.manual_seed(0)
    generator = SAGANGenerator(sample_size=32, num_classes=5, z_dim=16, ch=16, attention_resolutions=(8, 16)).eval()
    for gamma, layer in zip((0.8, -0.6), generator.attentions.values()):
        layer.gamma.data.fill_(gamma)
    return generator


def test_one_query_row_equals_the_row_of_the_full_explicit_map():
    generator = _generator_with_two_layers()
    z, labels = torch.randn(3, 16, generator=torch.Generator().manual_seed(1)), torch.tensor([0, 2, 4])
    with torch.no_grad(), capture_attention_inputs(generator) as captured:
        fused_images = generator(z, labels)  # the ordinary path: no map is built
    with torch.no_grad():
        explicit_images, full_maps = generator(z, labels, output_attentions=True)
    torch.testing.assert_close(fused_images, explicit_images, atol=1e-5, rtol=0)
    assert sorted(captured) == [8, 16] and all(t.shape[0] == 3 for t in captured.values())

    for (resolution, layer), full in zip(generator.attentions.items(), full_maps):
        side = int(resolution)
        for x, y in [(0.0, 0.0), (0.99, 0.99), (0.3, 0.7), (0.55, 0.1)]:
            row = attention_row(layer, captured[side], (x, y))  # (3, side/2, side/2)
            expected = full[:, int(y * side) * side + int(x * side)].reshape(3, side // 2, side // 2)
            torch.testing.assert_close(row, expected, atol=1e-6, rtol=1e-5)
            torch.testing.assert_close(row.sum(dim=(1, 2)), torch.ones(3), atol=1e-5, rtol=0)

    layers = query_attention(generator, captured, (0.3, 0.7), image=1)
    assert [(a.resolution, a.cell) for a in layers] == [(8, (2, 5)), (16, (4, 11))]
    assert [round(a.gamma, 3) for a in layers] == [0.8, -0.6]
    np.testing.assert_allclose(layers[1].weights, full_maps[1][1, 11 * 16 + 4].reshape(8, 8).numpy(), atol=1e-6)
    with pytest.raises(ValueError, match=r"relative \(x, y\) in \[0, 1\)"):
        attention_row(layer, captured[16], (1.0, 0.5))


def test_hooks_are_removed_after_the_block():
    generator = _generator_with_two_layers()
    with capture_attention_inputs(generator) as captured:
        pass
    with torch.no_grad():
        generator(torch.randn(1, 16), torch.tensor([0]))
    assert captured == {} and all(not layer._forward_hooks for layer in generator.attentions.values())


def _explorer(id2label=SHAPES):
    return Explorer(small_pipeline(id2label))


def _pixels(image):
    return np.asarray(image)


def test_generation_is_deterministic_and_each_image_can_be_made_alone():
    explorer = _explorer()
    assert explorer.class_names == list(SHAPES.values()) and explorer.scale == 8
    first = explorer.generate("triangle", 5, 0, 3)
    again = explorer.generate("triangle", 5, 0.0, 3.0)  # web forms send floats
    assert [caption for _, caption in first] == ["triangle, seed 5", "triangle, seed 6", "triangle, seed 7"]
    for (a, _), (b, _) in zip(first, again):
        assert a.size == (256, 256)
        np.testing.assert_array_equal(_pixels(a), _pixels(b))
    np.testing.assert_array_equal(_pixels(explorer.image("triangle", 5, 0, 2)), _pixels(first[2][0]))
    assert not np.array_equal(_pixels(first[0][0]), _pixels(first[1][0]))
    assert not np.array_equal(_pixels(explorer.generate("circle", 5, 0, 1)[0][0]), _pixels(first[0][0]))
    truncated = explorer.generate("triangle", 5, 0.5, 1)[0][0]
    assert not np.array_equal(_pixels(truncated), _pixels(first[0][0]))


def test_attention_images_follow_the_query_and_match_the_one_query_rows():
    explorer = _explorer()
    near = explorer.attention("square", 3, 0, 1, 2, 3)
    far = explorer.attention("square", 3, 0, 1, 28, 25)
    assert len(near) == 2 and near[0][1] == "square, seed 4: query pixel (2, 3)"
    assert near[1][1].startswith("16x16 layer, gamma +0.50: query cell (1, 1)")
    assert not np.array_equal(_pixels(near[1][0]), _pixels(far[1][0]))
    # The overlay's heat comes from the same row that the explicit map holds for that query.
    pipe = explorer.pipe
    z = torch.randn(1, 16, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        _, (full,) = pipe.generator(z, torch.tensor([1]), output_attentions=True)
        with capture_attention_inputs(pipe.generator) as captured:
            pipe.generator(z, torch.tensor([1]))
    (layer,) = query_attention(pipe.generator, captured, ((2 + 0.5) / 32, (3 + 0.5) / 32))
    np.testing.assert_allclose(layer.weights, full[0, 1 * 16 + 1].reshape(8, 8).numpy(), atol=1e-6)


def test_class_names_fall_back_to_indices_and_bad_inputs_say_what_is_expected():
    assert _explorer(id2label=None).class_names == ["0", "1", "2", "3", "4"]
    explorer = _explorer()
    for call, message in [
        (lambda: explorer.generate("hexagon", 0, 0, 1), r"unknown class 'hexagon'; choose one of .*circle"),
        (lambda: explorer.generate("ring", -1, 0, 1), r"seed must be a whole number >= 0, got -1"),
        (lambda: explorer.generate("ring", 1.5, 0, 1), r"seed must be a whole number"),
        (lambda: explorer.generate("ring", 0, -0.5, 1), r"truncation must be a number >= 0 \(0: off\)"),
        (lambda: explorer.generate("ring", 0, 0, 0), r"number of images must be a whole number >= 1"),
        (lambda: explorer.generate("ring", 0, 0, 17), r"at most 16"),
        (lambda: explorer.attention("ring", 0, 0, 0, 32, 0), r"must lie in the 32x32 image, got \(32, 0\)"),
    ]:
        with pytest.raises(ValueError, match=message):
            call()


def test_a_256_px_generator_with_attention_at_128_answers_one_query():
    torch.manual_seed(0)
    generator = SAGANGenerator(sample_size=256, num_classes=2, z_dim=8, ch=4, attention_resolutions=(128,))
    generator.attentions["128"].gamma.data.fill_(1.0)
    explorer = Explorer(SAGANPipeline(generator=generator))
    (image, caption), (overlay, layer_caption) = explorer.attention("1", 0, 0, 0, 200, 17)
    assert image.size == overlay.size == (256, 256) and explorer.scale == 1
    assert caption == "1, seed 0: query pixel (200, 17)" and "128x128 layer" in layer_caption


def test_a_generator_without_attention_is_refused():
    generator = SAGANGenerator(sample_size=32, num_classes=2, z_dim=8, ch=8, attention_resolutions=())
    with pytest.raises(ValueError, match="no self-attention layer"):
        Explorer(SAGANPipeline(generator=generator))

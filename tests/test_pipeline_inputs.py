"""Pipeline inputs that cannot hurt: every odd argument is a clear ValueError or a correct result.

Explicit cases for each kind of input, batches larger than `max_batch_size` (chunked, same images),
requests that cannot fit in memory, and property-based tests over arbitrary call arguments.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sagan_hf import SAGANGenerator, SAGANPipeline
from sagan_hf.pipelines.pipeline_sagan import attention_nbytes, output_nbytes

NUM_CLASSES, Z_DIM, SIDE = 5, 16, 32
NAMES = {0: "circle, round", 1: "square", 2: "triangle", 3: "star", 4: "cross"}


@pytest.fixture(scope="module")
def pipe():
    torch.manual_seed(0)
    generator = SAGANGenerator(sample_size=SIDE, num_classes=NUM_CLASSES, z_dim=Z_DIM, ch=8, attention_resolutions=(16,))
    return SAGANPipeline(generator=generator, id2label=NAMES)


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_an_int_seed_is_a_seeded_generator(pipe):
    by_seed = pipe(class_labels=[1, 2], generator=7, output_type="pt").images
    by_generator = pipe(class_labels=[1, 2], generator=seeded(7), output_type="pt").images
    assert torch.equal(by_seed, by_generator)
    per_image = pipe(class_labels=[1, 2], generator=[7, seeded(8)], output_type="pt").images
    assert torch.equal(per_image, pipe(class_labels=[1, 2], generator=[seeded(7), seeded(8)], output_type="pt").images)
    assert not torch.equal(per_image, by_seed)  # one generator per image draws differently from one for the batch


@pytest.mark.parametrize("generator", ["7", 1.5, True, -1, 2**64, np.random.default_rng(0), [seeded(0), "x"]],
                         ids=["text", "float", "bool", "negative", "too-large", "numpy-rng", "list-with-text"])
def test_other_generators_are_refused(pipe, generator):
    with pytest.raises(ValueError, match="generator must be a torch.Generator, an int seed"):
        pipe(class_labels=[0], generator=generator)


def test_labels_may_be_names_indices_arrays_and_numpy_integers(pipe):
    expected = pipe(class_labels=[0, 1, 4], generator=3, output_type="pt")
    for labels in (["circle", "square", 4], ("round", np.int64(1), "cross"), np.array([0, 1, 4]),
                   torch.tensor([0, 1, 4], dtype=torch.int32), [torch.tensor(0), 1, 4]):
        out = pipe(class_labels=labels, generator=3, output_type="pt")
        assert out.class_labels.tolist() == [0, 1, 4]
        assert torch.equal(out.images, expected.images)
    assert pipe(class_labels="star", generator=3).class_labels.tolist() == [3]


@pytest.mark.parametrize(
    "labels, message",
    [
        ([[0, 1], [2, 3]], r"integers \(class indices\) or class names, one per image; got \[0, 1\]"),
        ([[0], 1], "one per image"),
        (torch.tensor([[0, 1], [2, 3]]), r"one label per image \(1-D\), got shape \(2, 2\)"),
        ([0, None], "got None"),
        ([True, 1], "got True"),
        ([1.0], "must be integers"),
        (torch.tensor([1.0]), "must be integers"),
        (np.array([0.5]), "must be integers"),
        ({"a": 1}, r"got {'a': 1} \(dict\)"),
        (["squares"], r"Unknown class name\(s\): 'squares' \(did you mean 'square'"),
        (["square", "hexagon", 2], "Unknown class name.*'hexagon'"),
        ([2**70], r"lie in \[0, 5\); got \[1180591620717411303424\]"),
        (np.array(["circle", "blob"]), "'blob'"),
        ([], "at least 1"),
    ],
)
def test_bad_labels_are_clear_errors(pipe, labels, message):
    with pytest.raises(ValueError, match=message):
        pipe(class_labels=labels)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_latents_are_refused(pipe, value):
    latents = torch.randn(3, Z_DIM)
    latents[1, 4] = value
    with pytest.raises(ValueError, match="latents must be finite"):
        pipe(latents=latents)


@pytest.mark.parametrize(
    "latents, message",
    [
        (torch.ones(2, Z_DIM, dtype=torch.long), "latents must be a float tensor"),
        ([[0.0] * Z_DIM], "latents must be a float tensor of shape \\(batch, 16\\), got list"),
        (torch.randn(2, Z_DIM, 1), r"latents must have shape \(batch, 16\), got \(2, 16, 1\)"),
        (torch.randn(0, Z_DIM), "at least 1"),
    ],
)
def test_bad_latents_are_clear_errors(pipe, latents, message):
    with pytest.raises(ValueError, match=message):
        pipe(latents=latents)


def test_numpy_latents_are_used_as_given(pipe):
    latents = np.random.default_rng(0).standard_normal((2, Z_DIM)).astype(np.float32)
    from_numpy = pipe(latents=latents, class_labels=[0, 1], output_type="pt").images
    from_tensor = pipe(latents=torch.from_numpy(latents), class_labels=[0, 1], output_type="pt").images
    assert torch.equal(from_numpy, from_tensor)


@pytest.mark.parametrize("batch_size", [2.0, "2", True, -3, [2]])
def test_a_batch_size_that_is_not_a_positive_integer_is_refused(pipe, batch_size):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        pipe(batch_size=batch_size)


def test_numpy_integer_batch_size_works(pipe):
    assert len(pipe(batch_size=np.int64(3), generator=0).images) == 3


@pytest.mark.parametrize("truncation", ["1", float("nan"), True, 0])
def test_a_truncation_that_is_not_a_positive_number_is_refused(pipe, truncation):
    with pytest.raises(ValueError, match="truncation must be a positive number"):
        pipe(batch_size=1, truncation=truncation)


@pytest.mark.parametrize("output_type", ["pt", "np", "pil"])
def test_large_batches_run_in_chunks_and_give_the_same_images(pipe, output_type):
    seen = []
    hook = pipe.generator.register_forward_pre_hook(lambda module, args: seen.append(args[0].shape[0]))
    try:
        chunked = pipe(batch_size=7, generator=seeded(1), truncation=0.8, output_type=output_type, max_batch_size=3,
                       output_attentions=True)
        assert seen == [3, 3, 1]  # peak memory follows the chunk, not the request
        whole = pipe(batch_size=7, generator=seeded(1), truncation=0.8, output_type=output_type, output_attentions=True)
        assert seen[3:] == [7]
    finally:
        hook.remove()
    assert torch.equal(chunked.class_labels, whole.class_labels)  # drawn up front, once
    as_array = (lambda x: np.stack([np.asarray(i) for i in x])) if output_type == "pil" else np.asarray
    # Same latents and classes; a convolution over 3 images may round differently from one over 7.
    np.testing.assert_allclose(as_array(chunked.images), as_array(whole.images), rtol=0,
                               atol=1 if output_type == "pil" else 1e-5)
    assert [a.shape for a in chunked.attentions] == [a.shape for a in whole.attentions] == [(7, 256, 64)]
    torch.testing.assert_close(chunked.attentions[0], whole.attentions[0], rtol=0, atol=1e-5)


def test_the_default_chunk_is_the_pipeline_attribute(pipe, monkeypatch):
    monkeypatch.setattr(pipe, "max_batch_size", 2)
    seen = []
    hook = pipe.generator.register_forward_pre_hook(lambda module, args: seen.append(args[0].shape[0]))
    try:
        assert len(pipe(batch_size=5, generator=0).images) == 5
    finally:
        hook.remove()
    assert seen == [2, 2, 1]
    with pytest.raises(ValueError, match="max_batch_size must be a positive integer"):
        pipe(batch_size=2, max_batch_size=0)


def test_the_output_size_estimate_is_what_a_call_returns(pipe):
    out = pipe(batch_size=3, generator=0, output_type="pt", output_attentions=True)
    assert output_nbytes(3, SIDE, "pt") == out.images.nelement() * out.images.element_size()
    assert attention_nbytes(3, (16,)) == sum(a.nelement() * 4 for a in out.attentions)
    array = pipe(batch_size=3, generator=0, output_type="np").images
    assert output_nbytes(3, SIDE, "np") == array.nbytes
    pil = pipe(batch_size=3, generator=0, output_type="pil").images
    assert output_nbytes(3, SIDE, "pil") == sum(len(image.tobytes()) for image in pil)


def test_a_request_that_cannot_fit_in_memory_is_refused_before_anything_is_drawn(pipe):
    generator = seeded(5)
    state = generator.get_state()
    started = time.perf_counter()
    # 10**12 images of 32x32: 12 PB of floats (and 64 TB of latents if anything were drawn)
    with pytest.raises(ValueError, match=r"1000000000000 images of 32x32 as 'np' need .* GiB of cpu memory, but .* "
                                         r"is available"):
        pipe(batch_size=10**12, generator=generator, output_type="np")
    assert torch.equal(generator.get_state(), state)  # no latent was drawn
    assert time.perf_counter() - started < 5


# ------------------------------------------------------------------------------------------------------
# Properties: for any arguments, a call either returns the right number of valid images or raises a
# ValueError; never another exception, a crash or a silent wrong result.

# Valid values are drawn often enough that both outcomes are common (see --hypothesis-show-statistics).
valid_label = st.one_of(st.integers(0, NUM_CLASSES - 1), st.sampled_from(["circle", "round", "star", "cross"]))
label_items = st.one_of(
    valid_label, st.integers(-2, NUM_CLASSES + 1), st.sampled_from(["hexagon", ""]), st.floats(allow_nan=True),
    st.none(), st.booleans(), st.lists(st.integers(0, 4), max_size=2),
)
labels_strategy = st.one_of(st.none(), st.lists(valid_label, min_size=1, max_size=4), label_items,
                            st.lists(label_items, max_size=4),
                            st.lists(st.integers(0, NUM_CLASSES - 1), min_size=1, max_size=4).map(torch.tensor))
batch_sizes = st.one_of(st.none(), st.none(), st.integers(-1, 4), st.floats(0, 4), st.booleans(), st.just("2"))
generators = st.one_of(st.none(), st.integers(0, 2**64 - 1), st.integers(-3, 2**64 + 3),
                       st.lists(st.integers(0, 10), max_size=4), st.just("seed"))
truncations = st.one_of(st.none(), st.floats(0.05, 4), st.floats(allow_nan=True))


@st.composite
def latents_strategy(draw):
    if draw(st.integers(0, 3)):
        return None
    rows, cols = draw(st.integers(0, 4)), draw(st.sampled_from([Z_DIM, Z_DIM, 3]))
    values = draw(st.one_of(st.floats(-4, 4, width=32), st.floats(allow_nan=True, allow_infinity=True, width=32)))
    latents = torch.randn(rows, cols, generator=seeded(draw(st.integers(0, 100))))
    if rows and draw(st.booleans()):
        latents[draw(st.integers(0, rows - 1)), draw(st.integers(0, cols - 1))] = values
    return latents


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(class_labels=labels_strategy, batch_size=batch_sizes, generator=generators, latents=latents_strategy(),
       truncation=truncations, max_batch_size=st.one_of(st.none(), st.integers(0, 3)))
def test_any_call_gives_valid_images_or_a_value_error(pipe, class_labels, batch_size, generator, latents, truncation,
                                                      max_batch_size):
    try:
        out = pipe(class_labels=class_labels, batch_size=batch_size, generator=generator, latents=latents,
                   truncation=truncation, output_type="pt", max_batch_size=max_batch_size)
    except ValueError as error:
        assert str(error) and "\n" not in str(error).strip()
        event("refused")
        return
    event("generated")
    count = out.images.shape[0]
    assert out.images.shape == (count, 3, SIDE, SIDE) and 1 <= count
    assert torch.isfinite(out.images).all() and out.images.min() >= 0 and out.images.max() <= 1
    assert out.class_labels.shape == (count,) and out.class_labels.dtype == torch.long
    assert 0 <= int(out.class_labels.min()) and int(out.class_labels.max()) < NUM_CLASSES
    for implied in (batch_size, None if latents is None else latents.shape[0],
                    len(generator) if isinstance(generator, list) else None):
        assert implied is None or implied == count


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers(1, 7), chunk=st.integers(1, 7), seed=st.integers(0, 2**32))
def test_any_chunking_gives_the_images_of_one_batch(pipe, count, chunk, seed):
    chunked = pipe(batch_size=count, generator=seed, output_type="pt", max_batch_size=chunk)
    whole = pipe(batch_size=count, generator=seed, output_type="pt", max_batch_size=count)
    assert torch.equal(chunked.class_labels, whole.class_labels)
    torch.testing.assert_close(chunked.images, whole.images, rtol=0, atol=1e-5)

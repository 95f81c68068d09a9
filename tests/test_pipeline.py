"""SAGANPipeline: sampling, determinism, save/reload, dtype, and every bad-input error."""

import json

import numpy as np
import PIL.Image
import pytest
import torch

from sagan_hf import SAGANDiscriminator, SAGANGenerator, SAGANPipeline

TINY = dict(sample_size=32, num_classes=5, ch=8, attention_resolutions=(16,))


def seeded(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def pipe():
    torch.manual_seed(0)
    return SAGANPipeline(generator=SAGANGenerator(z_dim=32, **TINY), discriminator=SAGANDiscriminator(**TINY))


def test_output_types(pipe):
    pil = pipe(class_labels=[0, 4], generator=seeded()).images
    assert len(pil) == 2 and isinstance(pil[0], PIL.Image.Image) and pil[0].size == (32, 32)
    array = pipe(class_labels=[0, 4], generator=seeded(), output_type="np").images
    assert array.shape == (2, 32, 32, 3) and array.dtype == np.float32
    assert array.min() >= 0 and array.max() <= 1
    tensor = pipe(class_labels=[0, 4], generator=seeded(), output_type="pt").images
    assert tensor.shape == (2, 3, 32, 32)
    assert np.allclose(tensor.permute(0, 2, 3, 1).numpy(), array, atol=1e-6)
    assert np.array_equal(np.asarray(pil[1]), (array[1] * 255).round().astype(np.uint8))


def test_same_seed_same_images_and_other_seed_other_images(pipe):
    a = pipe(class_labels=[1, 2, 3], generator=seeded(7), output_type="pt").images
    b = pipe(class_labels=[1, 2, 3], generator=seeded(7), output_type="pt").images
    c = pipe(class_labels=[1, 2, 3], generator=seeded(8), output_type="pt").images
    assert torch.equal(a, b)
    assert (a - c).abs().max() > 1e-3


def test_random_classes_when_none_are_given_are_seeded(pipe):
    first = pipe(batch_size=16, generator=seeded(3), output_type="pt")
    again = pipe(batch_size=16, generator=seeded(3), output_type="pt")
    assert first.class_labels.shape == (16,)
    assert torch.equal(first.class_labels, again.class_labels)
    assert first.class_labels.min() >= 0 and first.class_labels.max() < 5
    assert len(set(first.class_labels.tolist())) > 1
    # The latents come first, so giving the drawn classes back reproduces the images exactly.
    given = pipe(class_labels=first.class_labels, generator=seeded(3), output_type="pt")
    assert torch.equal(first.images, given.images)


def test_a_list_of_generators_seeds_each_image(pipe):
    pair = pipe(class_labels=[2, 2], generator=[seeded(1), seeded(2)], output_type="pt").images
    single = pipe(class_labels=[2], generator=[seeded(2)], output_type="pt").images
    assert torch.allclose(pair[1:], single, atol=1e-6)


def test_latents_are_used_as_given(pipe):
    latents = torch.randn(2, 32, generator=seeded(5))
    from_latents = pipe(class_labels=[0, 1], latents=latents, output_type="pt").images
    from_seed = pipe(class_labels=[0, 1], generator=seeded(5), output_type="pt").images
    assert torch.allclose(from_latents, from_seed, atol=1e-6)


def test_truncation_samples_a_truncated_normal(pipe):
    from scipy.stats import kstest, truncnorm

    from sagan_hf.pipelines.pipeline_sagan import sample_latents

    for threshold in (0.5, 1.0):
        z = sample_latents(4000, 32, seeded(0), truncation=threshold)
        assert z.dtype == torch.float32 and z.abs().max() <= threshold
        # The whole distribution, not only its range: a uniform draw on [-0.5, 0.5] (KS 0.0096) or a
        # clamped normal (0.31) is refused; the truncated normal here gives 0.0020 for 128k values.
        assert kstest(z.flatten().double().numpy(), truncnorm(-threshold, threshold).cdf).statistic < 0.004
    assert torch.equal(sample_latents(4000, 32, seeded(0), 0.5), sample_latents(4000, 32, seeded(0), 0.5))
    # The pipeline feeds exactly those latents to the generator, and they change the images.
    truncated = pipe(class_labels=[0, 1], generator=seeded(), truncation=0.5, output_type="pt").images
    latents = sample_latents(2, 32, seeded(), truncation=0.5)
    assert torch.allclose(truncated, pipe(class_labels=[0, 1], latents=latents, output_type="pt").images, atol=1e-6)
    plain = pipe(class_labels=[0, 1], generator=seeded(), output_type="pt").images
    assert (truncated - plain).abs().max() > 1e-2


def test_attention_maps_are_returned_on_request(pipe):
    out = pipe(class_labels=[0, 1, 2], generator=seeded(), output_type="pt", output_attentions=True)
    assert len(out.attentions) == 1
    assert out.attentions[0].shape == (3, 256, 64)  # 16x16 queries over 8x8 pooled keys
    assert torch.allclose(out.attentions[0].sum(-1), torch.ones(3, 256), atol=1e-5)
    plain = pipe(class_labels=[0, 1, 2], generator=seeded(), output_type="pt")
    assert plain.attentions is None
    assert torch.allclose(out.images, plain.images, atol=1e-5)  # explicit and fused paths agree


def test_return_dict_false_gives_a_tuple(pipe):
    images, labels = pipe(class_labels=[3], generator=seeded(), return_dict=False)
    assert len(images) == 1 and labels.tolist() == [3]


def test_save_and_reload_gives_the_same_images(pipe, tmp_path):
    pipe.save_pretrained(tmp_path)
    index = json.loads((tmp_path / "model_index.json").read_text())
    assert index["generator"] == ["sagan_hf.models.modeling_sagan", "SAGANGenerator"]
    assert index["discriminator"] == ["sagan_hf.models.modeling_sagan", "SAGANDiscriminator"]
    assert (tmp_path / "generator" / "diffusion_pytorch_model.safetensors").exists()
    assert not list(tmp_path.rglob("*.bin"))
    reloaded = SAGANPipeline.from_pretrained(tmp_path)
    assert not reloaded.generator.training  # from_pretrained gives eval mode
    assert reloaded.discriminator is not None
    assert reloaded.generator.config.num_classes == 5
    before = pipe(class_labels=[0, 1, 2, 3], generator=seeded(11), output_type="pt").images
    after = reloaded(class_labels=[0, 1, 2, 3], generator=seeded(11), output_type="pt").images
    # Identical weights; BLAS may sum in another order for other buffer alignments (~1e-7).
    assert torch.allclose(before, after, atol=1e-6, rtol=0)
    a_state, b_state = pipe.generator.state_dict(), reloaded.generator.state_dict()
    assert a_state.keys() == b_state.keys()
    assert all(torch.equal(a_state[k], b_state[k]) for k in a_state)


def test_pipeline_without_discriminator_saves_and_reloads(tmp_path):
    pipe = SAGANPipeline(generator=SAGANGenerator(**TINY))
    pipe.save_pretrained(tmp_path)
    reloaded = SAGANPipeline.from_pretrained(tmp_path)
    assert reloaded.discriminator is None
    assert len(reloaded(class_labels=[1]).images) == 1


def test_dtype_and_device_are_honoured(pipe, tmp_path):
    pipe.save_pretrained(tmp_path)
    bf16 = SAGANPipeline.from_pretrained(tmp_path, dtype=torch.bfloat16).to("cpu")
    assert bf16.generator.dtype == torch.bfloat16
    images = bf16(class_labels=[0, 1], generator=seeded(), output_type="np").images
    assert images.dtype == np.float32 and np.isfinite(images).all()
    fp32 = pipe(class_labels=[0, 1], generator=seeded(), output_type="np").images
    assert np.abs(images - fp32).mean() < 0.05


def test_unconditional_pipeline_draws_no_classes():
    pipe = SAGANPipeline(generator=SAGANGenerator(sample_size=32, num_classes=0, ch=8, attention_resolutions=(16,)))
    out = pipe(batch_size=2, generator=seeded(), output_type="pt")
    assert out.images.shape == (2, 3, 32, 32) and out.class_labels is None


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(class_labels=[0, 5]), r"lie in \[0, 5\); got \[5\]"),
        (dict(class_labels=[-1]), r"lie in \[0, 5\)"),
        (dict(class_labels=[1.5]), "must be integers"),
        (dict(class_labels=[0, 1], batch_size=3), "batch size is ambiguous"),
        (dict(class_labels=[0, 1], generator=[torch.Generator()] * 3), "batch size is ambiguous"),
        (dict(batch_size=0), "positive integer"),
        (dict(class_labels=[]), "at least 1"),
        (dict(latents=torch.randn(2, 16)), r"latents must have shape \(batch, 32\)"),
        (dict(latents=torch.randn(2, 32), batch_size=3), "batch size is ambiguous"),
        (dict(output_type="latent"), "output_type must be one of"),
        (dict(truncation=0.0), "truncation must be a positive number"),
        (dict(truncation=-1.0), "truncation must be a positive number"),
    ],
)
def test_bad_inputs_raise_clear_errors(pipe, kwargs, message):
    with pytest.raises(ValueError, match=message):
        pipe(**kwargs)


def test_labels_for_an_unconditional_model_are_refused():
    pipe = SAGANPipeline(generator=SAGANGenerator(sample_size=32, num_classes=0, ch=8, attention_resolutions=(16,)))
    with pytest.raises(ValueError, match="unconditional"):
        pipe(class_labels=[0])


def test_pipelines_saved_with_the_old_module_paths_still_load(pipe, tmp_path):
    """Folders saved before the networks moved into modeling_sagan.py name sagan_hf.models.generator."""
    pipe.save_pretrained(tmp_path)
    index_path = tmp_path / "model_index.json"
    index = json.loads(index_path.read_text())
    index["generator"] = ["sagan_hf.models.generator", "SAGANGenerator"]
    index["discriminator"] = ["sagan_hf.models.discriminator", "SAGANDiscriminator"]
    index_path.write_text(json.dumps(index))
    reloaded = SAGANPipeline.from_pretrained(tmp_path)
    assert type(reloaded.generator).__name__ == "SAGANGenerator"
    assert type(reloaded.discriminator).__name__ == "SAGANDiscriminator"
    before = pipe(class_labels=[1, 2], generator=seeded(5), output_type="pt").images
    after = reloaded(class_labels=[1, 2], generator=seeded(5), output_type="pt").images
    assert torch.allclose(before, after, atol=1e-6, rtol=0)

"""The fast paths that are on by default compute what the plain path computes, and leave no trace.

Sampling: the pipeline folds each spectral-norm weight into a stored eval-mode weight (channels_last on
CPU and CUDA) and keeps it across calls while the weights do not change; the state dict, saving, gradients
and training are untouched. Training: the trainer's default speed settings (channels_last, attention
chosen per device) are resolved as documented; their agreement with the plain path is checked by
tests/test_perf_paths.py.
"""

from __future__ import annotations

import copy

import pytest
import torch
from accelerate.state import AcceleratorState, GradientState
from safetensors.torch import load_file

from sagan_hf.models import SAGANDiscriminator, SAGANGenerator
from sagan_hf.models.modeling_sagan import fold_for_sampling, spectral_normed_modules
from sagan_hf.pipelines.pipeline_sagan import SAGANPipeline, prepare_for_sampling
from sagan_hf.training.assembly import (
    assemble_training,
    cpu_has_native_bf16,
    explicit_attention_bytes,
    physical_memory_bytes,
    resolve_attention_implementation,
    resolve_channels_last,
)
from sagan_hf.training.config import TrainConfig, make_config
from sagan_hf.training.trainer import make_accelerator

# The same tiny nets and one-thread setting as the fast-path agreement tests.
from test_perf_paths import NUM_CLASSES, _one_thread, tiny_models  # noqa: E402,F401 (autouse fixture)


def stored_weights(model) -> list:
    return [m.parametrizations.weight[0].sampling_weight for m in spectral_normed_modules(model)]


def sample(pipe, seed: int = 3):
    return pipe(batch_size=5, generator=torch.Generator().manual_seed(seed), output_type="pt").images


def plain_samples(generator, seed: int = 3):
    """The plain path: a copy of the generator, spectral norm recomputed at every read, default layout."""
    pipe = SAGANPipeline(generator=copy.deepcopy(generator))
    pipe.cache_spectral_norm, pipe.channels_last = False, False
    images = sample(pipe, seed)
    assert not any(stored_weights(pipe.generator))
    return images


@pytest.fixture()
def saved_pipeline(tmp_path):
    generator, discriminator = tiny_models()
    SAGANPipeline(generator=generator, discriminator=discriminator).save_pretrained(tmp_path / "pipe")
    return tmp_path / "pipe"


def test_default_sampling_folds_once_in_channels_last_and_equals_the_plain_path(saved_pipeline):
    pipe = SAGANPipeline.from_pretrained(saved_pipeline)  # eval mode, as users get it
    expected = plain_samples(pipe.generator)
    first = sample(pipe)
    stored = stored_weights(pipe.generator)
    assert len(stored) > 10 and all(stored)
    conv = pipe.generator.blocks[0].conv1.parametrizations.weight[0].sampling_weight[0]
    assert conv.is_contiguous(memory_format=torch.channels_last)  # chosen for the CPU
    second = sample(pipe)
    assert all(a[0] is b[0] for a, b in zip(stored, stored_weights(pipe.generator)))  # reused, not refolded
    torch.testing.assert_close(first, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(second, expected, rtol=1e-5, atol=1e-5)
    assert expected.std() > 0.01
    # The weights themselves keep their layout: only the stored sampling copies are channels_last.
    assert pipe.generator.blocks[0].conv1.parametrizations.weight.original.is_contiguous()

    pipe.generator.train()  # dropped when the generator trains again (and before, when it is moved)
    pipe.generator.eval()
    pipe.channels_last = False
    torch.testing.assert_close(sample(pipe), expected, rtol=1e-5, atol=1e-5)
    conv = pipe.generator.blocks[0].conv1.parametrizations.weight[0].sampling_weight[0]
    assert conv.is_contiguous()


def test_channels_last_is_chosen_by_device():
    generator, _ = tiny_models()
    generator.eval()
    prepare_for_sampling(generator, torch.device("meta"))  # a device without a measured gain: default layout
    conv = generator.blocks[0].conv1.parametrizations.weight[0].sampling_weight[0]
    assert conv.is_contiguous() and not conv.is_contiguous(memory_format=torch.channels_last)
    generator.train()
    generator.eval()
    prepare_for_sampling(generator, torch.device("cpu"))
    conv = generator.blocks[0].conv1.parametrizations.weight[0].sampling_weight[0]
    assert conv.is_contiguous(memory_format=torch.channels_last)


def test_saving_after_sampling_writes_the_spectral_norm_state_and_reloads_the_same_images(saved_pipeline, tmp_path):
    pipe = SAGANPipeline.from_pretrained(saved_pipeline)
    before = {k: v.clone() for k, v in pipe.generator.state_dict().items()}
    images = sample(pipe)
    assert all(stored_weights(pipe.generator))
    state = pipe.generator.state_dict()
    assert state.keys() == before.keys() and all(torch.equal(state[k], before[k]) for k in state)
    pipe.save_pretrained(tmp_path / "again")
    saved = load_file(next((tmp_path / "again" / "generator").glob("*.safetensors")))
    for suffix in ("parametrizations.weight.original", "parametrizations.weight.0._u", "parametrizations.weight.0._v"):
        assert f"blocks.0.conv1.{suffix}" in saved, suffix
    assert saved.keys() == before.keys()
    assert not any("sampling" in key for key in saved)
    torch.testing.assert_close(sample(SAGANPipeline.from_pretrained(tmp_path / "again")), images, rtol=0, atol=0)


def test_training_after_sampling_restores_the_live_spectral_norm():
    generator, _ = tiny_models()
    never_sampled = copy.deepcopy(generator)
    generator.eval()
    pipe = SAGANPipeline(generator=generator)
    sample(pipe)
    assert all(stored_weights(generator)) and not generator.training
    generator.train()
    never_sampled.train()
    assert not any(stored_weights(generator))
    z, labels = torch.randn(4, 16), torch.randint(0, NUM_CLASSES, (4,))
    out, reference = generator(z, labels), never_sampled(z, labels)
    torch.testing.assert_close(out, reference, rtol=0, atol=0)
    out.square().mean().backward()
    original = generator.blocks[0].conv1.parametrizations.weight.original
    assert original.grad is not None and original.grad.abs().sum() > 0
    # The power iteration ran (train mode) exactly as in the copy that never sampled.
    u = generator.blocks[0].conv1.parametrizations.weight[0]._u
    torch.testing.assert_close(u, never_sampled.blocks[0].conv1.parametrizations.weight[0]._u, rtol=0, atol=0)


def test_a_loaded_pipeline_fine_tunes_in_the_trainer_exactly_as_one_that_never_sampled(saved_pipeline, tmp_path):
    results = []
    for sampled_first in (True, False):
        pipe = SAGANPipeline.from_pretrained(saved_pipeline)
        if sampled_first:
            sample(pipe)
            assert all(stored_weights(pipe.generator))
        AcceleratorState._reset_state(reset_partial_state=True)
        GradientState._reset_state()
        # channels_last off: converting the weights would drop the stored ones on its own
        config = make_config("shapes-tiny", output_dir=str(tmp_path / f"run-{sampled_first}"), num_classes=NUM_CLASSES,
                             channels_last=False)
        prepared = assemble_training(make_accelerator(config), config, pipe.generator, pipe.discriminator, NUM_CLASSES)
        assert not any(stored_weights(pipe.generator))
        g = torch.Generator().manual_seed(5)
        batch = {"pixel_values": torch.rand(8, 3, 32, 32, generator=g) * 2 - 1,
                 "class_labels": torch.randint(0, NUM_CLASSES, (8,), generator=g)}
        torch.manual_seed(7)
        metrics = prepared.step([batch], 1)
        results.append(({k: float(v) for k, v in metrics.items()},
                        {k: v.clone() for k, v in pipe.generator.state_dict().items()}))
    (sampled_metrics, sampled_state), (fresh_metrics, fresh_state) = results
    assert sampled_metrics == fresh_metrics
    assert sampled_state.keys() == fresh_state.keys()
    for key in fresh_state:
        assert torch.equal(sampled_state[key], fresh_state[key]), key


def test_updated_weights_are_folded_again():
    """An EMA update, an optimiser step or load_state_dict changes weights in place while in eval mode."""
    generator, _ = tiny_models()
    generator.eval()
    pipe = SAGANPipeline(generator=generator)
    sample(pipe)
    target, _ = tiny_models(seed=1)
    with torch.no_grad():  # what GeneratorEMA.update does
        torch._foreach_lerp_(list(generator.parameters()), list(target.parameters()), 0.5)
    torch.testing.assert_close(sample(pipe), plain_samples(generator), rtol=1e-5, atol=1e-5)
    generator.load_state_dict(target.state_dict())
    expected = plain_samples(generator)
    torch.testing.assert_close(sample(pipe), expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(expected, plain_samples(target.eval()), rtol=1e-5, atol=1e-5)


def test_stored_weights_are_not_used_with_autograd_or_after_a_cast():
    generator, _ = tiny_models()
    generator.eval()
    assert fold_for_sampling(generator) > 10
    assert fold_for_sampling(generator) == 0  # current already
    z, labels = torch.randn(2, 16), torch.randint(0, NUM_CLASSES, (2,))
    generator(z, labels).square().mean().backward()  # eval mode with autograd: gradients reach the weights
    assert generator.out_conv.parametrizations.weight.original.grad.abs().sum() > 0
    generator.double()
    assert not any(stored_weights(generator))
    with torch.no_grad():
        out = generator(z.double(), labels)
    assert out.dtype == torch.float64
    with pytest.raises(ValueError, match="eval mode"):
        fold_for_sampling(generator.train())


# -- training defaults ------------------------------------------------------------------------------------


def test_trainer_defaults_choose_layout_and_attention_by_device():
    config = TrainConfig()
    assert config.channels_last is None and config.attention_implementation == "auto"
    with pytest.raises(ValueError, match="attention_implementation"):
        make_config("shapes-tiny", attention_implementation="flash")


def test_channels_last_is_on_with_cuda_and_on_a_cpu_up_to_64_px():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert resolve_channels_last(None, cuda, 128) is True
    assert resolve_channels_last(None, cpu, 32) is True and resolve_channels_last(None, cpu, 64) is True
    assert resolve_channels_last(None, cpu, 128) is False  # slower there (docs/benchmarks.md)
    assert resolve_channels_last(None, torch.device("mps"), 32) is False
    assert resolve_channels_last(True, cpu, 128) is True and resolve_channels_last(False, cuda, 32) is False


def test_automatic_attention_is_explicit_on_a_cpu_when_the_maps_fit_and_fused_otherwise():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    memory = physical_memory_bytes()
    assert memory and memory > 2**30
    assert resolve_attention_implementation("auto", cpu, 2**20) == "explicit"
    assert resolve_attention_implementation("auto", cpu, memory) == "fused"  # would not fit
    assert resolve_attention_implementation("auto", cuda, 2**20) == "fused"
    assert resolve_attention_implementation("explicit", cuda, 2**20) == "explicit"
    assert resolve_attention_implementation("fused", cpu, 2**20) == "fused"
    # Under bf16 autocast, explicit only where the CPU computes bf16 natively (emulated it is the slower path).
    expected_bf16 = "explicit" if cpu_has_native_bf16() else "fused"
    assert resolve_attention_implementation("auto", cpu, 2**20, bf16=True) == expected_bf16
    assert resolve_attention_implementation("auto", cuda, 2**20, bf16=True) == "fused"
    # Attention at 64x64 in both nets, as in the paper (narrow here): 4096 x 1024 maps, fp32 logits and
    # softmax, D on real + fake: 2 x 4 bytes x 2 x 4096 x 1024 = 64 MiB per image and iteration.
    generator = SAGANGenerator(sample_size=128, num_classes=0, z_dim=8, ch=8, attention_resolutions=(64,))
    discriminator = SAGANDiscriminator(sample_size=128, num_classes=0, ch=8, attention_resolutions=(64,))
    assert explicit_attention_bytes(generator, discriminator, 256) == 256 * 64 * 2**20
    assert resolve_attention_implementation("auto", cpu, explicit_attention_bytes(generator, discriminator, 2)) == "explicit"


def test_assembly_applies_and_reports_the_resolved_attention(tmp_path):
    for requested, expected in (("auto", "explicit"), ("fused", "fused")):
        AcceleratorState._reset_state(reset_partial_state=True)
        GradientState._reset_state()
        generator, discriminator = tiny_models()
        config = make_config("shapes-tiny", output_dir=str(tmp_path / requested), num_classes=NUM_CLASSES,
                             attention_implementation=requested)
        prepared = assemble_training(make_accelerator(config), config, generator, discriminator, NUM_CLASSES)
        assert prepared.attention_implementation == expected and prepared.channels_last is True
        layers = list(generator.attentions.values()) + list(discriminator.attentions.values())
        layers += list(prepared.ema.model.attentions.values())
        assert layers and all(layer.implementation == expected for layer in layers)
        assert generator.out_conv.parametrizations.weight.original.is_contiguous(memory_format=torch.channels_last)

"""Shapes, parameter counts, spectral norm coverage and configuration checks of the two networks."""

import pytest
import torch
from torch import nn

from sagan_hf import SAGANDiscriminator, SAGANGenerator
from sagan_hf.models.modeling_sagan import is_spectral_normed

SMALL = dict(num_classes=10, ch=8)
ATTENTION_FOR = {32: (16,), 64: (32,), 128: (64,), 256: (64,)}


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("resolution", [32, 64, 128, 256])
def test_output_shapes_at_every_supported_resolution(resolution):
    torch.manual_seed(0)
    G = SAGANGenerator(sample_size=resolution, attention_resolutions=ATTENTION_FOR[resolution], **SMALL)
    D = SAGANDiscriminator(sample_size=resolution, attention_resolutions=ATTENTION_FOR[resolution], **SMALL)
    z = torch.randn(2, 128)
    labels = torch.tensor([3, 7])
    images = G(z, labels)
    assert images.shape == (2, 3, resolution, resolution)
    assert images.min() >= -1 and images.max() <= 1
    logits = D(images, labels)
    assert logits.shape == (2,)
    assert torch.isfinite(logits).all()


def test_default_config_is_the_paper_model_with_the_published_parameter_counts():
    # Built on the meta device: the counts need no memory and no initialisation time.
    with torch.device("meta"):
        G, D = SAGANGenerator(), SAGANDiscriminator()
    assert G.config.sample_size == 128 and G.config.num_classes == 1000 and G.config.z_dim == 128
    assert tuple(G.config.attention_resolutions) == (64,) and G.config.ch == 64
    assert count_parameters(G) == 42_017_412  # published: 42,017,412
    assert count_parameters(D) == 39_448_258  # published: 39,448,258
    cbn_tables = sum(p.numel() for n, p in G.named_parameters() if ".norm" in n and (".gain." in n or ".bias.weight" in n))
    assert cbn_tables == 9_856_000  # the 9.86M class-conditional BatchNorm parameters
    # Attention sits on the 64x64 maps: 128 channels in G, 64 in D.
    assert G.attentions["64"].channels == 128 and D.attentions["64"].channels == 64


def test_every_conv_linear_and_the_projection_embedding_are_spectral_normed_but_not_the_cbn_tables():
    G = SAGANGenerator(sample_size=32, attention_resolutions=(16,), **SMALL)
    D = SAGANDiscriminator(sample_size=32, attention_resolutions=(16,), **SMALL)
    for model in (G, D):
        layers = [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        assert layers, "no layers found"
        unnormed = [n for n, m in layers if not is_spectral_normed(m)]
        assert unnormed == []
    assert is_spectral_normed(D.embedding)
    cbn_tables = [m for n, m in G.named_modules() if isinstance(m, nn.Embedding)]
    assert len(cbn_tables) == 2 * 2 * len(G.blocks)  # gain and bias per CBN, two CBNs per block
    assert not any(is_spectral_normed(m) for m in cbn_tables)
    assert all(torch.all(m.weight == 1) for n, m in G.named_modules() if n.endswith(".gain"))
    assert all(torch.all(m.weight == 0) for n, m in G.named_modules() if n.endswith("norm1.bias"))


def test_spectral_norm_keeps_the_largest_singular_value_near_one_after_training_mode_calls():
    D = SAGANDiscriminator(sample_size=32, attention_resolutions=(16,), **SMALL).train()
    images = torch.randn(4, 3, 32, 32)
    for _ in range(30):  # each training-mode call runs one power iteration
        D(images, torch.zeros(4, dtype=torch.long))
    weight = D.blocks[1].conv1.weight.detach().flatten(1)
    assert torch.linalg.matrix_norm(weight, ord=2).item() == pytest.approx(1.0, abs=0.05)


def test_unconditional_models_take_no_labels_and_reject_them():
    G = SAGANGenerator(sample_size=32, num_classes=0, ch=8, attention_resolutions=(16,))
    D = SAGANDiscriminator(sample_size=32, num_classes=0, ch=8, attention_resolutions=(16,))
    assert D.embedding is None
    assert not any(isinstance(m, nn.Embedding) for m in G.modules())
    images = G(torch.randn(2, 128))
    assert D(images).shape == (2,)
    with pytest.raises(ValueError, match="unconditional"):
        G(torch.randn(2, 128), torch.tensor([0, 1]))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(sample_size=48), "power of two"),
        (dict(sample_size=512), "no default width schedule"),
        (dict(sample_size=32, attention_resolutions=(12,)), "not a feature-map size"),
        (dict(sample_size=32, channel_multipliers=(1, 2)), "must be 4 positive integers"),
        (dict(sample_size=32, init="kaiming"), "xavier"),
    ],
)
def test_bad_configurations_are_refused_with_a_clear_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SAGANGenerator(**{**SMALL, "attention_resolutions": (16,), **kwargs})


def test_bad_call_arguments_are_refused():
    G = SAGANGenerator(sample_size=32, attention_resolutions=(16,), **SMALL)
    D = SAGANDiscriminator(sample_size=32, attention_resolutions=(16,), **SMALL)
    with pytest.raises(ValueError, match="class-conditional"):
        G(torch.randn(2, 128))
    with pytest.raises(ValueError, match=r"lie in \[0, 10\)"):
        G(torch.randn(2, 128), torch.tensor([0, 10]))
    with pytest.raises(ValueError, match="z must have shape"):
        G(torch.randn(2, 64), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="images must have shape"):
        D(torch.randn(2, 3, 64, 64), torch.tensor([0, 1]))


@pytest.mark.parametrize("init", ["xavier", "orthogonal"])
def test_initialisation_schemes(init):
    torch.manual_seed(0)
    G = SAGANGenerator(sample_size=32, attention_resolutions=(16,), init=init, **SMALL)
    raw = G.blocks[0].conv1.parametrizations.weight.original.detach().flatten(1)
    if init == "orthogonal":  # rows of the raw matrix are orthonormal
        gram = raw @ raw.T
        assert torch.allclose(gram, torch.eye(gram.shape[0]), atol=1e-4)
    else:  # Glorot uniform bound sqrt(6 / (fan_in + fan_out))
        fan_in, fan_out = raw.shape[1], raw.shape[0] * 9
        assert raw.abs().max() <= (6 / (fan_in + fan_out)) ** 0.5 + 1e-6
    # The power iteration was refreshed after init: the eval-mode sigma is the true top singular value.
    G.eval()
    sigma = torch.linalg.matrix_norm(raw, ord=2)
    effective = G.blocks[0].conv1.weight.detach().flatten(1)
    assert torch.allclose(effective, raw / sigma, rtol=1e-2, atol=1e-4)


def test_bf16_forward_on_cpu():
    G = SAGANGenerator(sample_size=32, attention_resolutions=(16,), **SMALL).to(torch.bfloat16).eval()
    D = SAGANDiscriminator(sample_size=32, attention_resolutions=(16,), **SMALL).to(torch.bfloat16).eval()
    labels = torch.tensor([1, 2])
    images = G(torch.randn(2, 128, dtype=torch.bfloat16), labels)
    assert images.dtype == torch.bfloat16 and torch.isfinite(images).all()
    assert D(images, labels).dtype == torch.bfloat16


def test_spectral_norm_runs_outside_autocast(monkeypatch):
    # On CUDA autocast would run the power iteration's matrix-vector products in bf16; the parametrisation
    # switches autocast off around it. CPU autocast leaves mv alone, so check the switch itself.
    from torch.nn.utils.parametrizations import _SpectralNorm

    seen = []
    original = _SpectralNorm.forward

    def recording_forward(self, weight):
        seen.append(torch.is_autocast_enabled(weight.device.type))
        return original(self, weight)

    monkeypatch.setattr(_SpectralNorm, "forward", recording_forward)
    D = SAGANDiscriminator(sample_size=32, attention_resolutions=(16,), **SMALL).train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.is_autocast_enabled("cpu")
        D(torch.randn(2, 3, 32, 32), torch.tensor([0, 1]))
    assert seen and not any(seen)
    assert D.blocks[0].conv1.parametrizations.weight.original.dtype == torch.float32
    assert D.blocks[0].conv1.parametrizations.weight[0]._u.dtype == torch.float32

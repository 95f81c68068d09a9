"""The model options converted weights need, against the plain models: BatchNorm eps, the discriminator's
down-sampling schedule and its shortcut after an in-place ReLU. Defaults leave the models unchanged."""

import json

import pytest
import torch
import torch.nn.functional as F

from sagan_hf.models import SAGANDiscriminator, SAGANGenerator
from sagan_hf.models.modeling_sagan import DiscriminatorBlock

SMALL_D = dict(sample_size=32, num_classes=3, ch=8, attention_resolutions=(16,))
SMALL_G = dict(sample_size=32, num_classes=3, z_dim=8, ch=8, attention_resolutions=(16,))


def _seeded(cls, **config):
    torch.manual_seed(0)
    return cls(**config).eval()


def test_defaults_are_saved_and_change_nothing(tmp_path):
    generator, discriminator = _seeded(SAGANGenerator, **SMALL_G), _seeded(SAGANDiscriminator, **SMALL_D)
    generator.save_pretrained(tmp_path / "g")
    discriminator.save_pretrained(tmp_path / "d")
    g_config = json.loads((tmp_path / "g" / "config.json").read_text())
    d_config = json.loads((tmp_path / "d" / "config.json").read_text())
    assert g_config["bn_eps"] == 1e-5
    assert d_config["downsample"] is None and d_config["shortcut_takes_activation"] is False
    explicit = _seeded(SAGANDiscriminator, **SMALL_D, downsample=(True, True, True, False), shortcut_takes_activation=False)
    images, y = torch.rand(2, 3, 32, 32) * 2 - 1, torch.tensor([0, 2])
    with torch.no_grad():
        assert torch.equal(explicit(images, y), discriminator(images, y))
    assert discriminator.block_resolutions == [16, 8, 4, 4]
    assert all(m.eps == 1e-5 for m in generator.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_generator_bn_eps_applies_to_every_batchnorm_in_both_modes():
    generator = _seeded(SAGANGenerator, **SMALL_G, bn_eps=1e-4)
    assert {m.eps for m in generator.modules() if isinstance(m, torch.nn.BatchNorm2d)} == {1e-4}
    norm = generator.blocks[0].norm1
    x, y = torch.randn(4, norm.bn.num_features, 4, 4) * 1e-2, torch.tensor([0, 1, 2, 1])
    norm.train()
    expected = F.batch_norm(x, None, None, training=True, eps=1e-4) * norm.gain(y)[:, :, None, None] + norm.bias(y)[:, :, None, None]
    assert torch.allclose(norm(x, y), expected, atol=1e-6)  # small inputs: eps matters at 1e-2 variance
    with pytest.raises(ValueError, match="bn_eps must be > 0"):
        SAGANGenerator(**SMALL_G, bn_eps=0.0)


def test_downsampling_schedule_of_the_32px_sources():
    model = _seeded(SAGANDiscriminator, **SMALL_D, channel_multipliers=(2, 2, 2, 2), downsample=(True, True, False, False))
    assert model.block_resolutions == [16, 8, 8, 8] and model.attention_after == {0: "16"}
    assert [block.downsample for block in model.blocks] == [True, True, False, False]
    assert model.blocks[3].shortcut is None and model.blocks[1].shortcut is not None  # pools: a shortcut conv
    with torch.no_grad():
        assert model(torch.rand(2, 3, 32, 32), torch.tensor([1, 2])).shape == (2,)
    # 8 is the last block's side: "attention at 8" would be ambiguous, as in the default schedule's 4
    with pytest.raises(ValueError, match="attention_resolutions entry 8 is not a feature-map size"):
        SAGANDiscriminator(**{**SMALL_D, "attention_resolutions": (8,)}, downsample=(True, True, False, False))
    for bad in [(False, True, True, False), (True, True, False), (True,) * 4 + (True,)]:
        with pytest.raises(ValueError, match="downsample must hold 4 booleans"):
            SAGANDiscriminator(**SMALL_D, downsample=bad)


def test_shortcut_takes_the_activated_input_when_asked():
    torch.manual_seed(3)
    block = DiscriminatorBlock(8, 16, downsample=True, preactivation=True, shortcut_takes_activation=True).eval()
    x = torch.randn(2, 8, 8, 8)
    with torch.no_grad():
        residual = F.avg_pool2d(block.conv2(F.relu(block.conv1(F.relu(x)))), 2)
        assert torch.allclose(block(x), residual + F.avg_pool2d(block.shortcut(F.relu(x)), 2), atol=1e-6)
        block.shortcut_takes_activation = False
        assert torch.allclose(block(x), residual + F.avg_pool2d(block.shortcut(x), 2), atol=1e-6)
    first = DiscriminatorBlock(3, 8, downsample=True, preactivation=False, shortcut_takes_activation=True)
    assert first.shortcut_takes_activation is False  # the first block has no pre-activation to share
    plain, activated = _seeded(SAGANDiscriminator, **SMALL_D), _seeded(SAGANDiscriminator, **SMALL_D, shortcut_takes_activation=True)
    images, y = torch.rand(2, 3, 32, 32) * 2 - 1, torch.tensor([0, 1])
    with torch.no_grad():
        assert not torch.allclose(plain(images, y), activated(images, y), atol=1e-4)

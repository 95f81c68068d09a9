"""The rules every converter shares (sagan_hf.convert.core), each checked against a direct computation."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from convert_sources import rewrite_numpy_scalar_path, sn_weight

from sagan_hf.convert.core import (
    SourceState,
    class_names_id2label,
    fold_bn_eps,
    gain_from_offset,
    imagenet_class_names,
    load_checkpoint_file,
    power_iterations,
    reverse_discriminator_colors,
    reverse_generator_colors,
    tables_from_onehot_linear,
    tables_from_shared_embedding,
)
from sagan_hf.convert.mmgen.config_text import parse_config_text
from sagan_hf.models import SAGANDiscriminator, SAGANGenerator
from sagan_hf.models.modeling_sagan import sn_conv2d

GEN = torch.Generator().manual_seed(0)


def test_folded_bn_eps_leaves_eval_outputs_unchanged():
    x, mean, var = torch.randn(4, 6, 3, 3, generator=GEN), torch.randn(6, generator=GEN), torch.rand(6, generator=GEN) + 0.1
    theirs = F.batch_norm(x, mean, var, training=False, eps=1e-3)
    ours = F.batch_norm(x, mean, fold_bn_eps(var, 1e-3, 1e-5), training=False, eps=1e-5)
    assert torch.allclose(ours, theirs, atol=1e-6)
    assert fold_bn_eps(var, 1e-4, 1e-4) is var


@pytest.mark.parametrize("steps", [0, 1, 3])
def test_folded_power_iterations_equal_torchs_own_training_steps(steps):
    weight = torch.randn(6, 4, 3, 3, generator=GEN)
    u, v = F.normalize(torch.randn(6, generator=GEN), dim=0), F.normalize(torch.randn(36, generator=GEN), dim=0)
    layer = power_iterations(weight, u, v, steps, eps=1e-6)
    state = {"x.weight_orig": weight, "x.weight_u": u, "x.weight_v": v}
    assert torch.allclose(layer.normalized(), sn_weight(state, "x", calls=steps), atol=1e-6)
    # and our parametrisation, in eval mode, computes that weight from the stored vectors
    conv = sn_conv2d(4, 6, 3)
    conv.load_state_dict({key.removeprefix("conv."): value for key, value in layer.state_entries("conv").items()}
                         | {"bias": torch.zeros(6)})
    assert torch.allclose(conv.eval().weight, sn_weight(state, "x", calls=steps), atol=1e-6)
    with pytest.raises(ValueError, match="power iterations must be >= 0"):
        power_iterations(weight, u, v, -1, eps=1e-6)


def test_cbn_tables_fold_each_source_format():
    classes, width, dim = 5, 4, 3
    y = torch.tensor([4, 0, 2])
    onehot_weight = torch.randn(width, classes, generator=GEN)  # StudioGAN: linear on one_hot(y)
    assert torch.allclose(tables_from_onehot_linear(onehot_weight)[y], F.linear(F.one_hot(y, classes).float(), onehot_weight))
    shared, linear = torch.randn(classes, dim, generator=GEN), torch.randn(width, dim, generator=GEN)
    assert torch.allclose(tables_from_shared_embedding(shared, linear)[y], F.linear(shared[y], linear), atol=1e-6)
    table = torch.randn(classes, width, generator=GEN)
    assert torch.allclose(gain_from_offset(table), 1 + table)


def _tiny_pair():
    torch.manual_seed(1)
    g = SAGANGenerator(sample_size=16, num_classes=3, z_dim=8, ch=8, channel_multipliers=(2, 2, 1), attention_resolutions=()).eval()
    d = SAGANDiscriminator(sample_size=16, num_classes=3, ch=8, channel_multipliers=(1, 2, 2), attention_resolutions=()).eval()
    return g, d


def test_reversed_colours_swap_the_channels_of_images_in_and_out():
    g, d = _tiny_pair()
    g_rgb, d_rgb = copy.deepcopy(g), copy.deepcopy(d)
    for model, reverse in ((g_rgb, reverse_generator_colors), (d_rgb, reverse_discriminator_colors)):
        state = model.state_dict()
        reverse(state)
        model.load_state_dict(state)
    z, y = torch.randn(2, 8, generator=GEN), torch.tensor([0, 2])
    images = torch.rand(2, 3, 16, 16, generator=GEN) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(g_rgb(z, y), g(z, y)[:, [2, 1, 0]], atol=1e-6)
        assert torch.allclose(d_rgb(images, y), d(images[:, [2, 1, 0]], y), atol=1e-5)


def test_imagenet_class_names_are_the_standard_order():
    names = imagenet_class_names()
    assert len(names) == 1000
    assert names[0] == "tench, Tinca tinca" and names[207] == "golden retriever" and names[999].startswith("toilet tissue")
    assert class_names_id2label("auto", 1000, 128)[360] == names[360]
    assert class_names_id2label("auto", 10, 32)[9] == "truck"
    assert class_names_id2label("auto", 100, 64) is None and class_names_id2label("none", 1000, 128) is None
    with pytest.raises(ValueError, match="cifar10 has 10 classes but the model has 1000"):
        class_names_id2label("cifar10", 1000, 128)


class _NotATensor:
    pass


def test_checkpoint_files_load_numpy_scalars_and_nothing_else(tmp_path):
    path = tmp_path / "run.pth"
    torch.save({"best_fid": np.float64(12.5), "step": np.int64(3), "w": torch.ones(2)}, path)
    assert load_checkpoint_file(path, "x")["best_fid"] == 12.5
    assert load_checkpoint_file(rewrite_numpy_scalar_path(path), "x")["step"] == 3  # numpy 1's spelling
    torch.save({"w": _NotATensor()}, tmp_path / "evil.pth")
    with pytest.raises(ValueError, match=r"\(Unsupported global: GLOBAL test_convert_core\._NotATensor .*\); expected a thing"):
        load_checkpoint_file(tmp_path / "evil.pth", "a thing")
    with pytest.raises(ValueError, match="does not exist or is not a file; expected a thing"):
        load_checkpoint_file(tmp_path / "missing.pth", "a thing")


def test_config_text_is_parsed_never_run(tmp_path):
    marker = tmp_path / "ran"
    text = (f"import os\nx = open({str(marker)!r}, 'w')\nmodel = dict(generator=dict(norm_eps=1e-05, "
            "act_cfg=dict(type='ReLU', inplace=True)), lr=-2e-4, sizes=[1, (2, 3)])\nother = some_call(1)\n")
    config = parse_config_text(text)
    assert config == {"model": {"generator": {"norm_eps": 1e-05, "act_cfg": {"type": "ReLU", "inplace": True}},
                                "lr": -2e-4, "sizes": [1, (2, 3)]}}
    assert not marker.exists()
    assert parse_config_text("model = dict(") == {}


def test_source_state_reports_every_problem_at_once():
    source = SourceState({"a": torch.zeros(2), "b": torch.zeros(3), "c": 1.0, "extra": torch.zeros(1)}, "the file", "Test")
    source.take("a", (2,))
    source.take("b", (4,))
    source.take("c")
    source.take("missing")
    with pytest.raises(ValueError) as error:
        source.raise_problems(["a hint"])
    assert str(error.value).splitlines() == [
        "the file does not match the expected Test layout for this architecture:",
        "  missing keys: missing",
        "  shape mismatches: b: expected shape (4,), found (3,); c: expected a tensor, found float",
        "  unexpected keys: extra",
        "  a hint",
    ]

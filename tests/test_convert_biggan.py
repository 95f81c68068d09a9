"""Conversion of BigGAN-PyTorch checkpoints, checked against a hand-written eval forward of that format.

The state dicts are built here with that code base's key names and shapes (see the module docstring of
`sagan_hf.convert.biggan`), and `ref_*` below recompute its eval-mode forward directly from those
tensors: one power-iteration step from `u0` per spectral-norm layer, BN with stored statistics and
gain 1 + table, attention with theta/phi/g/o.
"""

import json
import math

import pytest
import torch
import torch.nn.functional as F
from convert_sources import run_script

from sagan_hf.convert.biggan import (
    convert_biggan_checkpoint,
    convert_discriminator,
    convert_generator,
    resolve_architecture,
)
from sagan_hf.convert.core import biggan_eval_vectors

SN_EPS = 1e-8

# Their channel lists (as multiples of ch) for the sizes used here.
G_CHANNELS = {32: ([4, 4, 4], [4, 4, 4]), 64: ([16, 16, 8, 4], [16, 8, 4, 2]), 128: ([16, 16, 8, 4, 2], [16, 8, 4, 2, 1])}
D_CHANNELS = {  # 0 stands for the image's 3 channels
    32: ([0, 4, 4, 4], [4, 4, 4, 4]), 64: ([0, 1, 2, 4, 8], [1, 2, 4, 8, 16]), 128: ([0, 1, 2, 4, 8, 16], [1, 2, 4, 8, 16, 16]),
}
D_DOWNSAMPLE = {32: [True, True, False, False], 64: [True] * 4 + [False], 128: [True] * 5 + [False]}


# ----------------------------------------------------------------------------- BigGAN-format state dicts


def _sn_layer(state, prefix, shape, gen, bias=True):
    state[f"{prefix}.weight"] = torch.randn(shape, generator=gen) * 0.3
    if bias:
        state[f"{prefix}.bias"] = torch.randn(shape[0], generator=gen) * 0.1
    # Not unit-norm on purpose: an EMA copy averages u0 too.
    state[f"{prefix}.u0"] = torch.randn(1, shape[0], generator=gen) * 1.7
    state[f"{prefix}.sv0"] = torch.rand(1, generator=gen) + 1.0


def _bn_stats(state, prefix, width, gen):
    state[f"{prefix}.stored_mean"] = torch.randn(width, generator=gen) * 0.2
    state[f"{prefix}.stored_var"] = torch.rand(width, generator=gen) * 1.5 + 0.5


def _attention(state, prefix, width, gen):
    shapes = {
        "theta": (width // 8, width), "phi": (width // 8, width),
        "g": (width // 2, width), "o": (width, width // 2),
    }
    for name, (c_out, c_in) in shapes.items():
        _sn_layer(state, f"{prefix}.{name}", (c_out, c_in, 1, 1), gen, bias=False)
    state[f"{prefix}.gamma"] = torch.tensor(0.8) + torch.rand((), generator=gen)


def make_biggan_generator(resolution, ch, n_classes, dim_z, attention=(), shared_dim=0, seed=0):
    """A G state dict in BigGAN-PyTorch's layout (G_shared when shared_dim > 0)."""
    gen = torch.Generator().manual_seed(seed)
    ins, outs = ([ch * m for m in ms] for ms in G_CHANNELS[resolution])
    state = {}
    if shared_dim:
        state["shared.weight"] = torch.randn(n_classes, shared_dim, generator=gen)
    _sn_layer(state, "linear", (ins[0] * 16, dim_z), gen)
    for i, (c_in, c_out) in enumerate(zip(ins, outs)):
        block = f"blocks.{i}.0"
        _sn_layer(state, f"{block}.conv1", (c_out, c_in, 3, 3), gen)
        _sn_layer(state, f"{block}.conv2", (c_out, c_out, 3, 3), gen)
        _sn_layer(state, f"{block}.conv_sc", (c_out, c_in, 1, 1), gen)
        for bn, width in (("bn1", c_in), ("bn2", c_out)):
            if shared_dim:
                _sn_layer(state, f"{block}.{bn}.gain", (width, shared_dim), gen, bias=False)
                _sn_layer(state, f"{block}.{bn}.bias", (width, shared_dim), gen, bias=False)
            else:
                state[f"{block}.{bn}.gain.weight"] = torch.randn(n_classes, width, generator=gen) * 0.3
                state[f"{block}.{bn}.bias.weight"] = torch.randn(n_classes, width, generator=gen) * 0.3
            _bn_stats(state, f"{block}.{bn}", width, gen)
        if 8 * 2**i in attention:
            _attention(state, f"blocks.{i}.1", c_out, gen)
    state["output_layer.0.gain"] = 1 + torch.randn(outs[-1], generator=gen) * 0.2
    state["output_layer.0.bias"] = torch.randn(outs[-1], generator=gen) * 0.2
    _bn_stats(state, "output_layer.0", outs[-1], gen)
    _sn_layer(state, "output_layer.2", (3, outs[-1], 3, 3), gen)
    return state


def make_biggan_discriminator(resolution, ch, n_classes, attention=(), seed=1):
    gen = torch.Generator().manual_seed(seed)
    ins, outs = ([ch * m if m else 3 for m in ms] for ms in D_CHANNELS[resolution])
    # the side each block is filed under for attention in that code base (16 for every block at 32x32)
    sides = [16] * 4 if resolution == 32 else [resolution // 2 ** (i + 1) for i in range(len(outs) - 1)] + [4]
    state = {}
    for i, (c_in, c_out) in enumerate(zip(ins, outs)):
        _sn_layer(state, f"blocks.{i}.0.conv1", (c_out, c_in, 3, 3), gen)
        _sn_layer(state, f"blocks.{i}.0.conv2", (c_out, c_out, 3, 3), gen)
        if c_in != c_out or D_DOWNSAMPLE[resolution][i]:
            _sn_layer(state, f"blocks.{i}.0.conv_sc", (c_out, c_in, 1, 1), gen)
        if sides[i] in attention:
            _attention(state, f"blocks.{i}.1", c_out, gen)
    _sn_layer(state, "linear", (1, outs[-1]), gen)
    _sn_layer(state, "embed", (n_classes, outs[-1]), gen, bias=False)
    return state


# ----------------------------------------------------------------------------- hand-written eval forward


def ref_sn_weight(state, prefix, eps=SN_EPS):
    weight = state[f"{prefix}.weight"]
    matrix = weight.reshape(weight.shape[0], -1)
    v = state[f"{prefix}.u0"] @ matrix
    v = v / v.norm().clamp_min(eps)
    u = v @ matrix.t()
    u = u / u.norm().clamp_min(eps)
    sigma = (v @ matrix.t() @ u.t()).squeeze()
    return weight / sigma


def ref_conv(x, state, prefix):
    weight = ref_sn_weight(state, prefix)
    return F.conv2d(x, weight, state.get(f"{prefix}.bias"), padding=weight.shape[-1] // 2)


def ref_ccbn(x, y, state, prefix, bn_eps=1e-5):
    if "shared.weight" in state:
        embedding = state["shared.weight"][y]
        gain = 1 + embedding @ ref_sn_weight(state, f"{prefix}.gain").t()
        bias = embedding @ ref_sn_weight(state, f"{prefix}.bias").t()
    else:
        gain = 1 + state[f"{prefix}.gain.weight"][y]
        bias = state[f"{prefix}.bias.weight"][y]
    mean = state[f"{prefix}.stored_mean"][None, :, None, None]
    var = state[f"{prefix}.stored_var"][None, :, None, None]
    return (x - mean) / torch.sqrt(var + bn_eps) * gain[:, :, None, None] + bias[:, :, None, None]


def ref_attention(x, state, prefix):
    batch, channels, height, width = x.shape
    theta = ref_conv(x, state, f"{prefix}.theta").reshape(batch, channels // 8, -1)
    phi = F.max_pool2d(ref_conv(x, state, f"{prefix}.phi"), 2).reshape(batch, channels // 8, -1)
    g = F.max_pool2d(ref_conv(x, state, f"{prefix}.g"), 2).reshape(batch, channels // 2, -1)
    beta = torch.softmax(theta.transpose(1, 2) @ phi, dim=-1)
    attended = (g @ beta.transpose(1, 2)).reshape(batch, channels // 2, height, width)
    return state[f"{prefix}.gamma"] * ref_conv(attended, state, f"{prefix}.o") + x


def ref_generator(state, z, y, bn_eps=1e-5):
    h = F.linear(z, ref_sn_weight(state, "linear"), state["linear.bias"]).reshape(z.shape[0], -1, 4, 4)
    i = 0
    while f"blocks.{i}.0.conv1.weight" in state:
        block = f"blocks.{i}.0"
        out = F.relu(ref_ccbn(h, y, state, f"{block}.bn1", bn_eps))
        out = ref_conv(F.interpolate(out, scale_factor=2), state, f"{block}.conv1")
        out = ref_conv(F.relu(ref_ccbn(out, y, state, f"{block}.bn2", bn_eps)), state, f"{block}.conv2")
        h = out + ref_conv(F.interpolate(h, scale_factor=2), state, f"{block}.conv_sc")
        if f"blocks.{i}.1.gamma" in state:
            h = ref_attention(h, state, f"blocks.{i}.1")
        i += 1
    mean, var = state["output_layer.0.stored_mean"], state["output_layer.0.stored_var"]
    gain, bias = state["output_layer.0.gain"], state["output_layer.0.bias"]
    h = F.batch_norm(h, mean, var, gain, bias, training=False, eps=1e-5)
    return torch.tanh(ref_conv(F.relu(h), state, "output_layer.2"))


def ref_discriminator(state, x, y):
    h = x
    i = 0
    while f"blocks.{i}.0.conv1.weight" in state:
        block = f"blocks.{i}.0"
        downsample = D_DOWNSAMPLE[x.shape[-1]][i]
        out = ref_conv(F.relu(h) if i > 0 else h, state, f"{block}.conv1")
        out = ref_conv(F.relu(out), state, f"{block}.conv2")
        if downsample:
            out = F.avg_pool2d(out, 2)
        shortcut = h
        if i > 0:
            if f"{block}.conv_sc.weight" in state:
                shortcut = ref_conv(shortcut, state, f"{block}.conv_sc")
            shortcut = F.avg_pool2d(shortcut, 2) if downsample else shortcut
        else:
            shortcut = ref_conv(F.avg_pool2d(shortcut, 2), state, f"{block}.conv_sc")
        h = out + shortcut
        if f"blocks.{i}.1.gamma" in state:
            h = ref_attention(h, state, f"blocks.{i}.1")
        i += 1
    h = F.relu(h).sum(dim=(2, 3))
    out = F.linear(h, ref_sn_weight(state, "linear"), state["linear.bias"])
    return (out + (ref_sn_weight(state, "embed")[y] * h).sum(1, keepdim=True)).squeeze(1)


def _arch(g_state, d_state=None, **overrides):
    return resolve_architecture(None, overrides, g_state, d_state, include_discriminator=d_state is not None)


# ----------------------------------------------------------------------------- layers


def test_power_step_sigma_matches_hand_computation():
    gen = torch.Generator().manual_seed(3)
    state = {}
    _sn_layer(state, "conv", (6, 4, 3, 3), gen)
    layer = biggan_eval_vectors(state["conv.weight"], state["conv.u0"], SN_EPS)
    expected = state["conv.weight"] / ref_sn_weight(state, "conv")
    assert torch.allclose(layer.sigma().float(), expected.flatten()[0], rtol=1e-6)
    matrix = state["conv.weight"].reshape(6, -1).double()
    # torch's SN sigma in eval, from the float32 vectors that are stored
    assert math.isclose(float(layer.u.double() @ matrix @ layer.v.double()), float(layer.sigma()), rel_tol=1e-12)
    assert layer.u.shape == (6,) and layer.v.shape == (36,)


@pytest.mark.parametrize("bn_eps", [1e-5, 1e-3])
def test_converted_cbn_conv_and_attention_equal_hand_computed(bn_eps):
    state = make_biggan_generator(32, ch=4, n_classes=5, dim_z=8, attention=(16,))
    generator = convert_generator(state, _arch(state, bn_eps=bn_eps))
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(3, 16, 8, 8, generator=gen)
    y = torch.tensor([0, 4, 2])
    with torch.no_grad():
        expected = ref_ccbn(x, y, state, "blocks.0.0.bn1", bn_eps)
        assert torch.allclose(generator.blocks[0].norm1(x, y), expected, atol=1e-5)
        assert torch.allclose(generator.blocks[0].conv1(x), ref_conv(x, state, "blocks.0.0.conv1"), atol=1e-5)
        ours = generator.attentions["16"](x)
        assert torch.allclose(ours, ref_attention(x, state, "blocks.1.1"), atol=1e-5)
        assert not torch.allclose(ours, x, atol=1e-2)  # gamma != 0: the attention path really counts


@pytest.mark.parametrize("shared_dim", [0, 6])
def test_whole_generator_reproduces_biggan_eval_forward(shared_dim):
    state = make_biggan_generator(64, ch=4, n_classes=7, dim_z=10, attention=(32,), shared_dim=shared_dim)
    # Runs with num_G_SVs=2 keep a second vector and value per layer; they never change the output.
    state["linear.u1"], state["linear.sv1"] = torch.randn(1, state["linear.u0"].shape[1]), torch.ones(1)
    arch = _arch(state)
    assert (arch.resolution, arch.g_ch, arch.num_classes, arch.z_dim, arch.g_attention, arch.g_shared) == (
        64, 4, 7, 10, (32,), bool(shared_dim))
    generator = convert_generator(state, arch)
    z = torch.randn(4, 10, generator=torch.Generator().manual_seed(2))
    y = torch.tensor([0, 6, 3, 3])
    with torch.no_grad():
        ours, expected = generator(z, y), ref_generator(state, z, y)
    assert expected.abs().max() < 0.999 and expected.std() > 0.05  # not saturated: a meaningful comparison
    assert torch.allclose(ours, expected, atol=1e-5)


def test_the_paper_configuration_at_128px_reproduces_both_networks():
    g_state = make_biggan_generator(128, ch=4, n_classes=5, dim_z=12, attention=(64,))
    d_state = make_biggan_discriminator(128, ch=8, n_classes=5, attention=(64,))
    arch = _arch(g_state, d_state)
    assert (arch.resolution, arch.g_attention, arch.d_attention) == (128, (64,), (64,))
    generator, discriminator = convert_generator(g_state, arch), convert_discriminator(d_state, arch)
    gen = torch.Generator().manual_seed(7)
    z, y = torch.randn(2, 12, generator=gen), torch.tensor([4, 1])
    images = torch.rand(2, 3, 128, 128, generator=gen) * 2 - 1
    with torch.no_grad():
        expected = ref_generator(g_state, z, y)
        assert expected.abs().max() < 0.999 and expected.std() > 0.05
        assert torch.allclose(generator(z, y), expected, atol=1e-5)
        assert torch.allclose(discriminator(images, y), ref_discriminator(d_state, images, y), rtol=1e-5, atol=1e-5)


def test_whole_discriminator_reproduces_biggan_eval_forward():
    d_state = make_biggan_discriminator(64, ch=4, n_classes=7, attention=(16,))
    g_state = make_biggan_generator(64, ch=4, n_classes=7, dim_z=10)
    arch = _arch(g_state, d_state)
    assert (arch.d_ch, arch.d_attention) == (4, (16,))
    discriminator = convert_discriminator(d_state, arch)
    images = torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(5)) * 2 - 1
    y = torch.tensor([1, 0, 6])
    with torch.no_grad():
        expected = ref_discriminator(d_state, images, y)
        assert torch.allclose(discriminator(images, y), expected, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- folders and the script


def _write_run(folder, g_state, d_state=None, g_ema_state=None, config=None):
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(g_state, folder / "G.pth")
    if d_state is not None:
        torch.save(d_state, folder / "D.pth")
    if g_ema_state is not None:
        torch.save(g_ema_state, folder / "G_ema.pth")
    if config is not None:  # like theirs: counters, and a config holding nn.ReLU objects
        torch.save({"itr": 1000, "best_FID": 30.0, "config": config}, folder / "state_dict.pth")
    return folder


class _NotATensor:
    pass


def _run_script(*args):
    return run_script("convert_biggan_pytorch_checkpoint.py", *args)


def test_script_writes_a_loadable_pipeline_preferring_g_ema_and_reading_config(tmp_path):
    from sagan_hf.pipelines import SAGANPipeline

    g_state = make_biggan_generator(64, ch=4, n_classes=7, dim_z=10, attention=(32,), seed=0)
    g_ema_state = make_biggan_generator(64, ch=4, n_classes=7, dim_z=10, attention=(32,), seed=10)
    d_state = make_biggan_discriminator(64, ch=4, n_classes=7, attention=(16,))
    config = {
        "model": "BigGAN", "resolution": 64, "G_ch": 4, "D_ch": 4, "G_attn": "32", "D_attn": "16",
        "n_classes": 7,
        "dim_z": 10, "G_shared": False, "hier": False, "SN_eps": SN_EPS, "BN_eps": 2e-5,
        "G_activation": torch.nn.ReLU(inplace=False), "D_activation": torch.nn.ReLU(inplace=False),
    }
    run = _write_run(tmp_path / "run", g_state, d_state, g_ema_state, config)
    _run_script("--weights_dir", run, "--output_dir", tmp_path / "out")

    pipe = SAGANPipeline.from_pretrained(tmp_path / "out")
    assert pipe.discriminator is not None
    record = json.loads((tmp_path / "out" / "conversion.json").read_text())
    assert record["source"] == "BigGAN-PyTorch" and record["sampling"]["generator"] == "EMA"
    assert [f["name"] for f in record["files"]] == ["G_ema.pth", "D.pth"] and len(record["files"][0]["sha256"]) == 64
    assert pipe.generator.config.bn_eps == 2e-5  # their BN_eps, so training mode matches too
    z = torch.randn(2, 10, generator=torch.Generator().manual_seed(4))
    y = torch.tensor([5, 1])
    with torch.no_grad():
        ours = pipe.generator(z, y)
        assert torch.allclose(ours, ref_generator(g_ema_state, z, y, bn_eps=2e-5), atol=1e-5)
        assert not torch.allclose(ours, ref_generator(g_state, z, y, bn_eps=2e-5), atol=1e-2)
        images = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(6)) * 2 - 1
        expected = ref_discriminator(d_state, images, y)
        assert torch.allclose(pipe.discriminator(images, y), expected, rtol=1e-5, atol=1e-5)


def test_config_wins_over_shapes_and_flags_win_over_config(tmp_path):
    g_state = make_biggan_generator(64, ch=4, n_classes=7, dim_z=10, attention=(32,))
    # The run's config says no attention in G: its attention tensors are then unexpected.
    config = {"resolution": 64, "G_ch": 4, "G_attn": "0", "n_classes": 7, "dim_z": 10}
    run = _write_run(tmp_path / "run", g_state, config=config)
    with pytest.raises(ValueError, match=r"unexpected keys: blocks\.2\.1\.g\.sv0, blocks\.2\.1\.g\.u0"):
        convert_biggan_checkpoint(run, include_discriminator=False)
    pipe = convert_biggan_checkpoint(run, attention_resolutions="32", include_discriminator=False)
    assert pipe.generator.config.attention_resolutions == (32,) and pipe.discriminator is None


def test_flags_alone_and_shapes_alone_give_the_architecture(tmp_path):
    g_state = make_biggan_generator(64, ch=4, n_classes=7, dim_z=10, attention=(32,))
    d_state = make_biggan_discriminator(64, ch=4, n_classes=7, attention=(16,))
    # D saved from inside DataParallel: its "module." prefix is dropped.
    run = _write_run(tmp_path / "run", g_state, {f"module.{key}": value for key, value in d_state.items()})
    inferred = convert_biggan_checkpoint(run)
    assert inferred.discriminator.config.attention_resolutions == (16,)
    # The flag sets both networks' attention; 16 is wrong for this G, and the error lists its keys.
    expected = (
        r"the generator checkpoint[^\n]*\n  missing keys: blocks\.1\.1\.theta\.weight.*"
        r"\n  unexpected keys: blocks\.2\.1\.g\.sv0"
    )
    with pytest.raises(ValueError, match=expected):
        convert_biggan_checkpoint(
            run, resolution=64, ch=4, attention_resolutions="16", num_classes=7, z_dim=10
        )
    pipe = convert_biggan_checkpoint(run, resolution=64, ch=4, num_classes=7, z_dim=10)
    assert pipe.generator.config.attention_resolutions == (32,)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(ValueError, match="is not a directory"):
        convert_biggan_checkpoint(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="neither G_ema.pth nor G.pth"):
        convert_biggan_checkpoint(tmp_path / "empty")
    run = _write_run(tmp_path / "run", make_biggan_generator(32, ch=4, n_classes=3, dim_z=8))
    with pytest.raises(ValueError, match="has no D.pth"):
        convert_biggan_checkpoint(run)


def test_bad_keys_and_shapes_are_listed(tmp_path):
    g_state = make_biggan_generator(64, ch=4, n_classes=7, dim_z=10)
    del g_state["blocks.1.0.conv2.u0"]
    g_state["blocks.1.0.extra.weight"] = torch.zeros(2)
    g_state["blocks.0.0.bn2.stored_var"] = torch.ones(5)
    with pytest.raises(ValueError) as error:
        convert_generator(g_state, _arch(g_state))
    message = str(error.value)
    assert "missing keys: blocks.1.0.conv2.u0" in message
    assert "unexpected keys: blocks.1.0.extra.weight" in message
    assert "blocks.0.0.bn2.stored_var: expected shape (64,), found (5,)" in message
    # A wrong class count shows up as shape mismatches of the CBN tables.
    good = make_biggan_generator(64, ch=4, n_classes=7, dim_z=10)
    with pytest.raises(ValueError, match=r"bn1\.gain\.weight: expected shape \(9, 64\), found \(7, 64\)"):
        convert_generator(good, _arch(good, num_classes=9))


def test_unreadable_and_non_sn_checkpoints_are_refused(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    torch.save({"weights": _NotATensor()}, run / "G.pth")  # a pickle that weights_only refuses
    with pytest.raises(ValueError, match=r"Could not read .*G\.pth with torch\.load\(weights_only=True\)"):
        convert_biggan_checkpoint(run, include_discriminator=False)
    state = make_biggan_generator(32, ch=4, n_classes=3, dim_z=8)
    plain = {key: value for key, value in state.items() if not key.endswith(("u0", "sv0"))}
    with pytest.raises(ValueError, match="only spectral-normed runs"):
        convert_generator(plain, _arch(plain))


@pytest.mark.parametrize(
    "option, named",
    [({"hier": True}, "hier=True"), ({"mybn": True}, "mybn=True"), ({"G_param": "ortho"}, "G_param='ortho'"),
     ({"model": "BigGANdeep"}, "model='BigGANdeep'"), ({"D_wide": False}, "D_wide=False"),
     ({"norm_style": "in"}, "norm_style='in'"), ({"cross_replica": True}, "cross_replica=True")],
)
def test_unsupported_options_are_refused_by_name(tmp_path, option, named):
    g_state = make_biggan_generator(64, ch=4, n_classes=3, dim_z=8)
    d_state = make_biggan_discriminator(64, ch=4, n_classes=3)
    run = _write_run(tmp_path / "run", g_state, d_state, config={"resolution": 64, **option})
    with pytest.raises(ValueError, match="does not support: " + named):
        convert_biggan_checkpoint(run)


def test_discriminator_options_do_not_block_a_generator_only_conversion(tmp_path):
    g_state = make_biggan_generator(64, ch=4, n_classes=3, dim_z=8)
    config = {"resolution": 64, "D_param": "ortho", "D_wide": False}
    run = _write_run(tmp_path / "run", g_state, config=config)
    pipe = convert_biggan_checkpoint(run, include_discriminator=False)
    assert pipe.discriminator is None and pipe.generator.config.sample_size == 64


def test_hierarchical_z_detected_from_shapes(tmp_path):
    g_state = make_biggan_generator(32, ch=4, n_classes=3, dim_z=8, shared_dim=6)
    g_state["blocks.0.0.bn1.gain.weight"] = torch.randn(16, 8)  # shared_dim + a z chunk: hier
    with pytest.raises(ValueError, match="hier=True"):
        _arch(g_state)


def test_32px_discriminator_converts_with_its_own_downsampling(tmp_path):
    g_state = make_biggan_generator(32, ch=4, n_classes=3, dim_z=8)
    d_state = make_biggan_discriminator(32, ch=4, n_classes=3)
    run = _write_run(tmp_path / "run", g_state, d_state)
    pipe = convert_biggan_checkpoint(run, tmp_path / "out")
    assert pipe.discriminator.config.downsample == (True, True, False, False)
    assert pipe.discriminator.block_resolutions == [16, 8, 8, 8]
    images = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(5)) * 2 - 1
    y = torch.tensor([2, 0, 1])
    with torch.no_grad():
        assert torch.allclose(pipe.discriminator(images, y), ref_discriminator(d_state, images, y), rtol=1e-5, atol=1e-5)
    assert (tmp_path / "out" / "discriminator" / "config.json").is_file()
    # "16" there attaches attention after all four blocks: refused by name, the generator alone converts
    d_state = make_biggan_discriminator(32, ch=4, n_classes=3, attention=(16,))
    run = _write_run(tmp_path / "run2", g_state, d_state)
    with pytest.raises(ValueError, match=r"D attention at 16x16 is not supported at 32x32.*after 4 blocks"):
        convert_biggan_checkpoint(run)
    _run_script("--weights_dir", run, "--output_dir", tmp_path / "out2", "--no_discriminator")
    assert (tmp_path / "out2" / "generator" / "config.json").is_file()
    assert not (tmp_path / "out2" / "discriminator").exists()

"""Checkpoints in the exact layouts of MMGeneration and StudioGAN, and their forward passes, for the tests.

Layouts: `*_spec(...)` list every state-dict key with its shape and dtype, as the sources' own modules
name them (tests/data/convert_reference/*.tsv holds the lists generated from the sources' code for the
full-size networks; a test checks that these specs reproduce them). `fill(spec)` gives tensors with
realistic values: unit singular-vector estimates close to the top ones (as after training), positive
variances, non-zero attention scalars.

Forward passes (`mmgen_*_forward`, `studiogan_*_forward`) are written from the sources' documented maths
and operate on those state dicts directly: torch's hook spectral norm (sigma = u . W v in eval mode,
torch's own implementation when power iterations run), conditional BN in each source's format, and
the in-place ReLU of the discriminators done literally in place, so the shortcut sees what the
sources' code gives it.
"""

from __future__ import annotations

import importlib.util
import io
import math
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

REFERENCE_DIR = Path(__file__).parent / "data" / "convert_reference"
SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
FLOAT, LONG = torch.float32, torch.int64
MMGEN_ATTENTION = ("theta.conv", "phi.conv", "g.conv", "o.conv")
STUDIOGAN_ATTENTION = ("conv1x1_theta", "conv1x1_phi", "conv1x1_g", "conv1x1_attn")


def run_script(name: str, *args) -> int:
    """`scripts/<name>`'s main(argv), run in this process (its exit status)."""
    spec = importlib.util.spec_from_file_location(name.removesuffix(".py"), SCRIPTS / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main([str(arg) for arg in args])


# ----------------------------------------------------------------------------------------------- specs


def _sn(spec, prefix, shape, bias=True):
    if bias:
        spec[f"{prefix}.bias"] = ((shape[0],), FLOAT)
    spec[f"{prefix}.weight_orig"] = (tuple(shape), FLOAT)
    spec[f"{prefix}.weight_u"] = ((shape[0],), FLOAT)
    spec[f"{prefix}.weight_v"] = ((math.prod(shape[1:]),), FLOAT)


def _bn(spec, prefix, width, affine):
    if affine:
        spec[f"{prefix}.weight"] = ((width,), FLOAT)
        spec[f"{prefix}.bias"] = ((width,), FLOAT)
    spec[f"{prefix}.running_mean"] = ((width,), FLOAT)
    spec[f"{prefix}.running_var"] = ((width,), FLOAT)
    spec[f"{prefix}.num_batches_tracked"] = ((), LONG)


def _attention(spec, prefix, width, names, scalar):
    spec[f"{prefix}.{scalar[0]}"] = (scalar[1], FLOAT)
    for name, (rows, cols) in zip(names, ((width // 8, width), (width // 8, width), (width // 2, width),
                                          (width, width // 2))):
        _sn(spec, f"{prefix}.{name}", (rows, cols, 1, 1), bias=False)


def mmgen_generator_spec(widths, num_classes, attention_after=(), z_dim=128, embedding_sn=True):
    """MMGeneration SAGANGenerator keys. `widths`: 4x4 input then each block's output; attention after
    the n-th block (1-based, MMGeneration's `attention_after_nth_block`)."""
    spec = {}
    _sn(spec, "noise2feat", (16 * widths[0], z_dim))
    index = 0
    for block, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:]), start=1):
        p = f"conv_blocks.{index}"
        _sn(spec, f"{p}.conv_1.conv", (c_out, c_in, 3, 3))
        _sn(spec, f"{p}.conv_2.conv", (c_out, c_out, 3, 3))
        for norm, width in (("norm_1", c_in), ("norm_2", c_out)):
            _bn(spec, f"{p}.{norm}.norm", width, affine=False)
            for table in ("weight_embedding", "bias_embedding"):
                if embedding_sn:
                    _sn(spec, f"{p}.{norm}.{table}", (num_classes, width), bias=False)
                else:
                    spec[f"{p}.{norm}.{table}.weight"] = ((num_classes, width), FLOAT)
        _sn(spec, f"{p}.shortcut.conv", (c_out, c_in, 1, 1))
        index += 1
        if block in attention_after:
            _attention(spec, f"conv_blocks.{index}", c_out, MMGEN_ATTENTION, ("gamma", ()))
            index += 1
    _sn(spec, "to_rgb.conv", (3, widths[-1], 3, 3))
    _bn(spec, "to_rgb.bn", widths[-1], affine=True)
    return spec


def mmgen_discriminator_spec(widths, downsample, num_classes, attention_after=(1,)):
    """MMGeneration ProjDiscriminator keys. `widths`: from_rgb's output then each block's; `downsample`:
    the blocks after from_rgb; attention after the n-th block counting from_rgb as the first."""
    spec = {}
    _sn(spec, "from_rgb.conv_1.conv", (widths[0], 3, 3, 3))
    _sn(spec, "from_rgb.conv_2.conv", (widths[0], widths[0], 3, 3))
    _sn(spec, "from_rgb.shortcut.conv", (widths[0], 3, 1, 1))
    index = 0
    if 1 in attention_after:
        _attention(spec, f"conv_blocks.{index}", widths[0], MMGEN_ATTENTION, ("gamma", ()))
        index += 1
    for block, (c_in, c_out, pools) in enumerate(zip(widths[:-1], widths[1:], downsample), start=2):
        p = f"conv_blocks.{index}"
        _sn(spec, f"{p}.conv_1.conv", (c_out, c_in, 3, 3))
        _sn(spec, f"{p}.conv_2.conv", (c_out, c_out, 3, 3))
        if c_in != c_out or pools:
            _sn(spec, f"{p}.shortcut.conv", (c_out, c_in, 1, 1))
        index += 1
        if block in attention_after:
            _attention(spec, f"conv_blocks.{index}", c_out, MMGEN_ATTENTION, ("gamma", ()))
            index += 1
    _sn(spec, "decision", (1, widths[-1]))
    _sn(spec, "proj_y", (num_classes, widths[-1]), bias=False)
    return spec


STUDIOGAN_CBN_FORMATS = ("onehot_linear", "shared_embedding", "embeddings")


def studiogan_generator_spec(widths, num_classes, attention_after=(), z_dim=128, cbn="onehot_linear"):
    """StudioGAN Generator keys (resnet.py); attention after the n-th GenBlock (its `attn_g_loc`)."""
    spec = {}
    _sn(spec, "linear0", (16 * widths[0], z_dim))
    if cbn == "shared_embedding":
        spec["shared.weight"] = ((num_classes, z_dim), FLOAT)
    index = 0
    for block, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:]), start=1):
        p = f"blocks.{index}.0"
        for norm, width in (("bn1", c_in), ("bn2", c_out)):
            _bn(spec, f"{p}.{norm}.bn", width, affine=False)
            if cbn == "embeddings":
                _sn(spec, f"{p}.{norm}.embed0", (num_classes, width), bias=False)
                _sn(spec, f"{p}.{norm}.embed1", (num_classes, width), bias=False)
            else:
                inputs = num_classes if cbn == "onehot_linear" else z_dim
                _sn(spec, f"{p}.{norm}.gain", (width, inputs), bias=False)
                _sn(spec, f"{p}.{norm}.bias", (width, inputs), bias=False)
        _sn(spec, f"{p}.conv2d0", (c_out, c_in, 1, 1))
        _sn(spec, f"{p}.conv2d1", (c_out, c_in, 3, 3))
        _sn(spec, f"{p}.conv2d2", (c_out, c_out, 3, 3))
        index += 1
        if block in attention_after:
            _attention(spec, f"blocks.{index}.0", c_out, STUDIOGAN_ATTENTION, ("sigma", (1,)))
            index += 1
    _bn(spec, "bn4", widths[-1], affine=True)
    _sn(spec, "conv2d5", (3, widths[-1], 3, 3))
    return spec


STUDIOGAN_D_DOWNSAMPLE = {32: [True, True, False, False], 64: [True] * 4 + [False], 128: [True] * 5 + [False]}


def studiogan_discriminator_spec(widths, resolution, num_classes, attention_after=(1,)):
    """StudioGAN Discriminator keys (projection, d_cond_mtd PD); attention after the n-th block."""
    spec = {}
    down = STUDIOGAN_D_DOWNSAMPLE[resolution]
    index = 0
    for block, (c_in, c_out) in enumerate(zip([3, *widths[:-1]], widths), start=1):
        p = f"blocks.{index}.0"
        if block == 1 or c_in != c_out or down[block - 1]:
            _sn(spec, f"{p}.conv2d0", (c_out, c_in, 1, 1))
        _sn(spec, f"{p}.conv2d1", (c_out, c_in, 3, 3))
        _sn(spec, f"{p}.conv2d2", (c_out, c_out, 3, 3))
        index += 1
        if block in attention_after:
            _attention(spec, f"blocks.{index}.0", c_out, STUDIOGAN_ATTENTION, ("sigma", (1,)))
            index += 1
    _sn(spec, "linear1", (1, widths[-1]))
    _sn(spec, "embedding", (num_classes, widths[-1]), bias=False)
    return spec


def read_reference_spec(name: str) -> dict:
    """A key list of tests/data/convert_reference as {key: (shape, dtype)}."""
    spec = {}
    for line in (REFERENCE_DIR / name).read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, shape, dtype = line.split("\t")
        spec[key] = (tuple(int(s) for s in shape.strip("()").split(",") if s.strip()), getattr(torch, dtype))
    return spec


# ----------------------------------------------------------------------------------------------- values


def fill(spec: dict, seed: int = 0) -> OrderedDict:
    """Tensors for a spec: weights, then singular-vector estimates near the top ones, BN statistics."""
    gen = torch.Generator().manual_seed(seed)
    state = OrderedDict()
    for key, (shape, dtype) in spec.items():
        if dtype == LONG:
            state[key] = torch.randint(1, 1000, shape, generator=gen, dtype=LONG)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=gen) * 1.5 + 0.5
        elif key.endswith(("running_mean", ".bias")) or "bias_embedding" in key:
            state[key] = torch.randn(shape, generator=gen) * 0.2
        elif key.endswith(("gamma", "sigma")):
            state[key] = torch.rand(shape, generator=gen) * 0.5 + 0.5
        elif key in ("to_rgb.bn.weight", "bn4.weight"):  # affine BN gains
            state[key] = 1 + torch.randn(shape, generator=gen) * 0.2
        else:
            state[key] = torch.randn(shape, generator=gen) * 0.3
    for key in [k for k in state if k.endswith(".weight_orig")]:
        prefix = key[: -len(".weight_orig")]
        matrix = state[key].reshape(state[key].shape[0], -1)
        u = F.normalize(torch.randn(matrix.shape[0], generator=gen), dim=0)
        for _ in range(3):  # a few steps, as training leaves them: near but not at the top pair
            v = F.normalize(matrix.t() @ u, dim=0)
            u = F.normalize(matrix @ v, dim=0)
        state[f"{prefix}.weight_u"], state[f"{prefix}.weight_v"] = u, v
    return state


# ----------------------------------------------------------------------------------------------- maths


class _HookSN(nn.Module):
    """A bare module with torch's hook spectral norm on `weight`, to run its own power iterations."""

    def __init__(self, weight, u, v, eps):
        super().__init__()
        self.weight = nn.Parameter(weight.clone())
        nn.utils.spectral_norm(self, eps=eps)
        self.load_state_dict({"weight_orig": weight, "weight_u": u, "weight_v": v})

    def forward(self):
        return self.weight


def sn_weight(state, prefix, calls: int = 0, eps: float = 1e-6):
    """The weight a hook-SN layer computes with: eval mode (calls=0), or at its `calls`-th training-mode call."""
    weight, u, v = (state[f"{prefix}.{name}"] for name in ("weight_orig", "weight_u", "weight_v"))
    if calls == 0:
        sigma = u @ weight.reshape(weight.shape[0], -1) @ v
        return weight / sigma
    module = _HookSN(weight, u, v, eps).train()
    with torch.no_grad():
        for _ in range(calls):
            result = module()
    return result.detach()


def conv(x, state, prefix, calls=0):
    weight = sn_weight(state, prefix, calls)
    return F.conv2d(x, weight, state.get(f"{prefix}.bias"), padding=weight.shape[-1] // 2)


def attention(x, state, prefix, names, scalar, calls=0):
    """SAGAN attention as both sources write it: theta, max-pooled phi and g, softmax over keys."""
    batch, channels, height, width = x.shape
    theta = conv(x, state, f"{prefix}.{names[0]}", calls).reshape(batch, channels // 8, -1)
    phi = F.max_pool2d(conv(x, state, f"{prefix}.{names[1]}", calls), 2).reshape(batch, channels // 8, -1)
    g = F.max_pool2d(conv(x, state, f"{prefix}.{names[2]}", calls), 2).reshape(batch, channels // 2, -1)
    beta = torch.softmax(torch.bmm(theta.transpose(1, 2), phi), dim=-1)
    attended = torch.bmm(g, beta.transpose(1, 2)).reshape(batch, channels // 2, height, width)
    return x + state[f"{prefix}.{scalar}"] * conv(attended, state, f"{prefix}.{names[3]}", calls)


def batch_norm(x, state, prefix, eps, affine=False):
    weight = state[f"{prefix}.weight"] if affine else None
    bias = state[f"{prefix}.bias"] if affine else None
    return F.batch_norm(x, state[f"{prefix}.running_mean"], state[f"{prefix}.running_var"], weight, bias,
                        training=False, eps=eps)


def _indices(state, prefix):
    return sorted({int(key[len(prefix) + 1:].split(".")[0]) for key in state if key.startswith(prefix + ".")})


def mmgen_generator_forward(state, z, y, eps, gain_offset=True):
    """MMGeneration SAGANGenerator in eval mode; images in its own (BGR) channel order."""
    h = F.linear(z, sn_weight(state, "noise2feat"), state["noise2feat.bias"]).reshape(z.shape[0], -1, 4, 4)

    def cbn(x, p):
        table = (sn_weight(state, f"{p}.weight_embedding") if f"{p}.weight_embedding.weight_orig" in state
                 else state[f"{p}.weight_embedding.weight"])
        bias = (sn_weight(state, f"{p}.bias_embedding") if f"{p}.bias_embedding.weight_orig" in state
                else state[f"{p}.bias_embedding.weight"])
        gain = table[y] + (1.0 if gain_offset else 0.0)
        return batch_norm(x, state, f"{p}.norm", eps) * gain[:, :, None, None] + bias[y][:, :, None, None]

    for i in _indices(state, "conv_blocks"):
        p = f"conv_blocks.{i}"
        if f"{p}.gamma" in state:
            h = attention(h, state, p, MMGEN_ATTENTION, "gamma")
            continue
        out = F.interpolate(F.relu(cbn(h, f"{p}.norm_1")), scale_factor=2, mode="nearest")
        out = conv(F.relu(cbn(conv(out, state, f"{p}.conv_1.conv"), f"{p}.norm_2")), state, f"{p}.conv_2.conv")
        h = out + conv(F.interpolate(h, scale_factor=2, mode="nearest"), state, f"{p}.shortcut.conv")
    h = F.relu(batch_norm(h, state, "to_rgb.bn", eps, affine=True))
    return torch.tanh(conv(h, state, "to_rgb.conv"))


def mmgen_discriminator_forward(state, x, y, downsample, inplace_relu):
    """MMGeneration ProjDiscriminator in eval mode, (B, 1) logits, reading its own (BGR) channel order."""
    h = conv(F.relu(conv(x, state, "from_rgb.conv_1.conv")), state, "from_rgb.conv_2.conv")
    h = F.avg_pool2d(h, 2) + conv(F.avg_pool2d(x, 2), state, "from_rgb.shortcut.conv")
    block = 0
    for i in _indices(state, "conv_blocks"):
        p = f"conv_blocks.{i}"
        if f"{p}.gamma" in state:
            h = attention(h, state, p, MMGEN_ATTENTION, "gamma")
            continue
        residual = h
        out = F.relu(h, inplace=inplace_relu)  # in place, `residual` is rectified too, as in the source
        out = conv(F.relu(conv(out, state, f"{p}.conv_1.conv")), state, f"{p}.conv_2.conv")
        if downsample[block]:
            out = F.avg_pool2d(out, 2)
        if f"{p}.shortcut.conv.weight_orig" in state:
            residual = conv(residual, state, f"{p}.shortcut.conv")
            residual = F.avg_pool2d(residual, 2) if downsample[block] else residual
        h = out + residual
        block += 1
    h = F.relu(h).sum(dim=(2, 3))
    out = F.linear(h, sn_weight(state, "decision"), state["decision.bias"])
    return out + (sn_weight(state, "proj_y")[y] * h).sum(dim=1, keepdim=True)


def studiogan_generator_forward(state, z, y, calls=0):
    """StudioGAN Generator; `calls` > 0: its `calls`-th sampling call (spectral norm in training mode)."""
    h = F.linear(z, sn_weight(state, "linear0", calls), state["linear0.bias"]).reshape(z.shape[0], -1, 4, 4)

    def cbn(x, p):
        if f"{p}.embed0.weight_orig" in state:  # SN embeddings
            gain = 1 + F.embedding(y, sn_weight(state, f"{p}.embed0", calls))
            bias = F.embedding(y, sn_weight(state, f"{p}.embed1", calls))
        else:
            if "shared.weight" in state:  # linears on a shared class embedding
                affine = F.embedding(y, state["shared.weight"])
            else:  # linears on one-hot classes
                affine = F.one_hot(y, num_classes=state[f"{p}.gain.weight_orig"].shape[1]).float()
            gain = 1 + F.linear(affine, sn_weight(state, f"{p}.gain", calls))
            bias = F.linear(affine, sn_weight(state, f"{p}.bias", calls))
        return batch_norm(x, state, f"{p}.bn", 1e-4) * gain[:, :, None, None] + bias[:, :, None, None]

    for i in _indices(state, "blocks"):
        p = f"blocks.{i}.0"
        if f"{p}.sigma" in state:
            h = attention(h, state, p, STUDIOGAN_ATTENTION, "sigma", calls)
            continue
        x0 = h
        out = F.relu(cbn(h, f"{p}.bn1"), inplace=True)
        out = conv(F.interpolate(out, scale_factor=2, mode="nearest"), state, f"{p}.conv2d1", calls)
        out = conv(F.relu(cbn(out, f"{p}.bn2"), inplace=True), state, f"{p}.conv2d2", calls)
        h = out + conv(F.interpolate(x0, scale_factor=2, mode="nearest"), state, f"{p}.conv2d0", calls)
    h = F.relu(batch_norm(h, state, "bn4", 1e-4, affine=True), inplace=True)
    return torch.tanh(conv(h, state, "conv2d5", calls))


def studiogan_discriminator_forward(state, x, y):
    """StudioGAN Discriminator's `adv_output` in eval mode, with its in-place ReLU."""
    down = STUDIOGAN_D_DOWNSAMPLE[x.shape[-1]]
    h, block = x, 0
    for i in _indices(state, "blocks"):
        p = f"blocks.{i}.0"
        if f"{p}.sigma" in state:
            h = attention(h, state, p, STUDIOGAN_ATTENTION, "sigma")
            continue
        x0 = h
        if block == 0:  # DiscOptBlock
            out = F.avg_pool2d(conv(F.relu(conv(h, state, f"{p}.conv2d1"), inplace=True), state, f"{p}.conv2d2"), 2)
            h = out + conv(F.avg_pool2d(x0, 2), state, f"{p}.conv2d0")
        else:  # DiscBlock: x0 aliases the activated input
            out = F.relu(h, inplace=True)
            out = conv(F.relu(conv(out, state, f"{p}.conv2d1"), inplace=True), state, f"{p}.conv2d2")
            if down[block]:
                out = F.avg_pool2d(out, 2)
            if f"{p}.conv2d0.weight_orig" in state:
                x0 = conv(x0, state, f"{p}.conv2d0")
                x0 = F.avg_pool2d(x0, 2) if down[block] else x0
            h = out + x0
        block += 1
    h = torch.sum(F.relu(h, inplace=True), dim=[2, 3])
    adv = torch.squeeze(F.linear(h, sn_weight(state, "linear1"), state["linear1.bias"]), dim=1)
    return adv + torch.sum(torch.mul(F.embedding(y, sn_weight(state, "embedding")), h), 1)


# ----------------------------------------------------------------------------------------------- files


def adam_state(seed=0) -> dict:
    """A real optimizer state dict, as both sources save next to the weights."""
    parameter = nn.Parameter(torch.randn(3, generator=torch.Generator().manual_seed(seed)))
    optimizer = torch.optim.Adam([parameter], lr=1e-4, betas=(0.0, 0.999))
    parameter.grad = torch.ones(3)
    optimizer.step()
    return optimizer.state_dict()


def save_mmgen_checkpoint(path, networks: dict, config_text: str | None = None, iteration=826000):
    """An MMGeneration checkpoint: meta (with numpy float64 best scores) and prefixed state dicts."""
    state_dict = OrderedDict((f"{name}.{key}", value) for name, state in networks.items() for key, value in state.items())
    meta = {"mmcv_version": "1.3.9", "time": "Wed Aug 18 21:02:32 2021", "iter": iteration, "epoch": 1,
            "hook_msgs": {"best_score_fid": np.float64(12.8295), "best_score_is": np.float64(69.535),
                          "best_ckpt_fid": "work_dirs/ckpt/best_fid_iter_826000.pth"}}
    if config_text is not None:
        meta["config"] = config_text
    torch.save({"meta": meta, "state_dict": state_dict}, path)
    return path


def save_studiogan_files(folder, g_state, d_state=None, run_name="Test-SAGAN-train-2022_03_12_17_11_43", step=120000):
    """`model=G-best-weights-step=N.pth` and `model=D-...` as StudioGAN's worker saves them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    g_path = folder / f"model=G-best-weights-step={step}.pth"
    torch.save({"state_dict": g_state, "optimizer": adam_state(0)}, g_path)
    if d_state is None:
        return g_path, None
    d_path = folder / f"model=D-best-weights-step={step}.pth"
    torch.save({"state_dict": d_state, "optimizer": adam_state(1), "seed": 0, "run_name": run_name, "step": step,
                "epoch": 12, "topk": 256, "aa_p": 0.0, "best_step": step, "best_fid": np.float64(21.5),
                "best_fid_ckpt": "./checkpoints/" + run_name, "lecam_emas": {"G_loss": 7777.0, "D_loss_real": 7777.0}},
               d_path)
    return g_path, d_path


def rewrite_numpy_scalar_path(path):
    """Rewrite a saved file so its pickle names the numpy scalar as numpy 1 did (`numpy.core.multiarray`)."""
    source = zipfile.ZipFile(path)
    buffer = io.BytesIO()
    replaced = False
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as out:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename.endswith("data.pkl"):
                new = data.replace(b"numpy._core.multiarray\nscalar", b"numpy.core.multiarray\nscalar")
                replaced = new != data
                data = new
            out.writestr(info, data)
    source.close()
    assert replaced, "the pickle named no numpy scalar to rewrite"
    Path(path).write_bytes(buffer.getvalue())
    return path

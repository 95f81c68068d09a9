"""Mapping the tensors of a BigGAN-PyTorch G or D into a `SAGANGenerator` or `SAGANDiscriminator`."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from ...models import SAGANDiscriminator, SAGANGenerator

from .architecture import BIGGAN_D_MULTIPLIERS, BIGGAN_G_MULTIPLIERS, BigGANArchitecture, check_architecture
from .source_state import SourceState
from .spectral import biggan_eval_singular_vectors

OUR_BN_EPS = 1e-5
ATTENTION_NAMES = {"theta": "query", "phi": "key", "g": "value", "o": "out"}


def _convert_sn(source, theirs, ours, target, out, eps, bias=True):
    """Raw weight plus the u, v of their eval-mode power step, so our eval sigma equals theirs."""
    shape = target[f"{ours}.parametrizations.weight.original"].shape
    weight = source.take(f"{theirs}.weight", shape)
    u0 = source.take(f"{theirs}.u0", (1, shape[0]))
    source.take_sn_extras(theirs)
    if bias:
        out[f"{ours}.bias"] = source.take(f"{theirs}.bias", target[f"{ours}.bias"].shape)
    if weight is None or u0 is None:
        return
    u, v, _ = biggan_eval_singular_vectors(weight, u0, eps)
    out[f"{ours}.parametrizations.weight.original"] = weight
    out[f"{ours}.parametrizations.weight.0._u"] = u.float()
    out[f"{ours}.parametrizations.weight.0._v"] = v.float()


def _sn_effective_weight(source, prefix, shape, eps) -> torch.Tensor | None:
    """weight / sigma of one of their SN layers, as its eval forward uses it."""
    weight = source.take(f"{prefix}.weight", shape)
    u0 = source.take(f"{prefix}.u0", (1, shape[0]))
    source.take_sn_extras(prefix)
    if weight is None or u0 is None:
        return None
    _, _, sigma = biggan_eval_singular_vectors(weight, u0, eps)
    return (weight.double() / sigma).float()


def _convert_ccbn(source, theirs, ours, target, out, arch, shared):
    """Their CBN (1 + gain table) to ours (gain table), with the BN epsilon moved into the variance."""
    num_classes, width = target[f"{ours}.gain.weight"].shape
    if arch.g_shared:
        tables = {}
        for name in ("gain", "bias"):
            weight = None
            if shared is not None:  # (C, shared_dim) linears applied to the class embedding
                shape = (width, shared.shape[1])
                weight = _sn_effective_weight(source, f"{theirs}.{name}", shape, arch.sn_eps)
            tables[name] = None if weight is None else shared @ weight.t()
        gain, bias = tables["gain"], tables["bias"]
    else:
        gain = source.take(f"{theirs}.gain.weight", (num_classes, width))
        bias = source.take(f"{theirs}.bias.weight", (num_classes, width))
    mean = source.take(f"{theirs}.stored_mean", (width,))
    var = source.take(f"{theirs}.stored_var", (width,))
    out[f"{ours}.gain.weight"] = None if gain is None else 1.0 + gain
    out[f"{ours}.bias.weight"] = bias
    out[f"{ours}.bn.running_mean"] = mean
    out[f"{ours}.bn.running_var"] = None if var is None else var + (arch.bn_eps - OUR_BN_EPS)
    out[f"{ours}.bn.num_batches_tracked"] = torch.tensor(0, dtype=torch.long)


def _convert_attention(source, theirs, ours, target, out, eps):
    for their_name, our_name in ATTENTION_NAMES.items():
        _convert_sn(source, f"{theirs}.{their_name}", f"{ours}.{our_name}", target, out, eps, bias=False)
    out[f"{ours}.gamma"] = source.take(f"{theirs}.gamma", ())


def _load_into(model, converted: dict, source: SourceState):
    source.raise_problems()
    incomplete = sorted(key for key, value in converted.items() if value is None)
    if incomplete:  # cannot happen once the source had no problems; kept as a guard
        raise ValueError(f"{source.name}: could not convert {', '.join(incomplete)}")
    model.load_state_dict(converted, strict=True)
    return model.eval()


def convert_generator(state: Mapping, arch: BigGANArchitecture) -> SAGANGenerator:
    """A `SAGANGenerator` whose eval-mode outputs equal those of the BigGAN-PyTorch G `state`."""
    model = SAGANGenerator(
        sample_size=arch.resolution,
        num_classes=arch.num_classes,
        z_dim=arch.z_dim,
        ch=arch.g_ch,
        channel_multipliers=BIGGAN_G_MULTIPLIERS[arch.resolution],
        attention_resolutions=tuple(r for r in arch.g_attention if r in arch.g_block_resolutions),
    )
    target = model.state_dict()
    source = SourceState(state, "the generator checkpoint")
    out: dict = {}
    shared = source.take("shared.weight") if arch.g_shared else None
    if shared is not None and shared.shape[0] != arch.num_classes:
        source.bad_shapes.append(
            f"shared.weight: expected {arch.num_classes} rows (classes), found {shared.shape[0]}"
        )
        shared = None
    _convert_sn(source, "linear", "linear", target, out, arch.sn_eps)
    for index, side in enumerate(model.block_resolutions):
        theirs, ours = f"blocks.{index}.0", f"blocks.{index}"
        _convert_ccbn(source, f"{theirs}.bn1", f"{ours}.norm1", target, out, arch, shared)
        _convert_ccbn(source, f"{theirs}.bn2", f"{ours}.norm2", target, out, arch, shared)
        _convert_sn(source, f"{theirs}.conv1", f"{ours}.conv1", target, out, arch.sn_eps)
        _convert_sn(source, f"{theirs}.conv2", f"{ours}.conv2", target, out, arch.sn_eps)
        _convert_sn(source, f"{theirs}.conv_sc", f"{ours}.shortcut", target, out, arch.sn_eps)
        if str(side) in model.attentions:
            _convert_attention(source, f"blocks.{index}.1", f"attentions.{side}", target, out, arch.sn_eps)
    width = target["out_norm.weight"].shape[0]
    out["out_norm.weight"] = source.take("output_layer.0.gain", (width,))
    out["out_norm.bias"] = source.take("output_layer.0.bias", (width,))
    out["out_norm.running_mean"] = source.take("output_layer.0.stored_mean", (width,))
    out["out_norm.running_var"] = source.take("output_layer.0.stored_var", (width,))
    out["out_norm.num_batches_tracked"] = torch.tensor(0, dtype=torch.long)
    _convert_sn(source, "output_layer.2", "out_conv", target, out, arch.sn_eps)
    return _load_into(model, out, source)


def convert_discriminator(state: Mapping, arch: BigGANArchitecture) -> SAGANDiscriminator:
    """A `SAGANDiscriminator` whose eval-mode logits equal those of the BigGAN-PyTorch D `state`."""
    check_architecture(arch, include_discriminator=True)
    model = SAGANDiscriminator(
        sample_size=arch.resolution,
        num_classes=arch.num_classes,
        ch=arch.d_ch,
        channel_multipliers=BIGGAN_D_MULTIPLIERS[arch.resolution],
        attention_resolutions=tuple(r for r in arch.d_attention if r in arch.d_block_resolutions),
    )
    target = model.state_dict()
    source = SourceState(state, "the discriminator checkpoint")
    out: dict = {}
    for index, side in enumerate(model.block_resolutions):
        theirs, ours = f"blocks.{index}.0", f"blocks.{index}"
        _convert_sn(source, f"{theirs}.conv1", f"{ours}.conv1", target, out, arch.sn_eps)
        _convert_sn(source, f"{theirs}.conv2", f"{ours}.conv2", target, out, arch.sn_eps)
        if model.blocks[index].shortcut is not None:
            _convert_sn(source, f"{theirs}.conv_sc", f"{ours}.shortcut", target, out, arch.sn_eps)
        if str(side) in model.attentions and index < len(model.blocks) - 1:
            _convert_attention(source, f"blocks.{index}.1", f"attentions.{side}", target, out, arch.sn_eps)
    _convert_sn(source, "linear", "linear", target, out, arch.sn_eps)
    _convert_sn(source, "embed", "embedding", target, out, arch.sn_eps, bias=False)
    return _load_into(model, out, source)

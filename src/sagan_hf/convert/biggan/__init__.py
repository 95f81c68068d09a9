"""Convert a SAGAN-configured run of the BigGAN-PyTorch code base (ajbrock/BigGAN-PyTorch) to our models.

The format read here (all names as they appear in the `.pth` state dicts; C is a block's width)
-----------------------------------------------------------------------------------------------
A run folder holds `G.pth`, `D.pth` (plain `state_dict()`s), optionally `G_ema.pth` (same keys as
`G.pth`: the running average of G, buffers included) and `state_dict.pth`, a dict with counters and a
`config` dict of the training flags (`resolution`, `G_ch`, `D_ch`, `G_attn`, `D_attn` as strings like
"64" or "32_64" ("0" = none), `n_classes`, `dim_z`, `G_shared`, `shared_dim`, `hier`, `SN_eps`,
`BN_eps`, ...). That config also holds `torch.nn.ReLU` objects; only that class is allow-listed when it
is read with `weights_only=True`.

Spectral-norm layers (convs, linears, D's embedding) keep the raw `weight`, a `bias` where the layer
has one, a buffer `u0` of shape (1, rows of the weight matrix) and a logging buffer `sv0` (1,); runs
with several tracked singular values add `u1`, `sv1`, ... which never change the output. The weight
matrix is `weight.view(out, -1)`. In eval mode the layer does ONE power-iteration step from the
stored `u0` without writing it back: v = normalize(u0 W), u = normalize(v W^T), sigma = v W^T u^T,
and uses weight / sigma. `normalize` divides by max(norm, SN_eps). We store that u and v in torch's
spectral-norm parametrisation, whose eval mode computes sigma = u^T W v from the stored vectors
without iterating: the same sigma, so the same outputs.

Generator (`blocks.i.0` is the residual up-block i, output side 8 * 2**i; `blocks.i.1` the attention
that follows it, only where G_attn names that side):
- `linear`: SN linear dim_z -> 16 * widths[0] (the 4x4 input map, channel-major).
- `blocks.i.0.conv1`, `.conv2` (SN 3x3, bias), `.conv_sc` (SN 1x1, bias).
- `blocks.i.0.bn1`, `.bn2`: class-conditional BN: `gain.weight` and `bias.weight` of shape
  (n_classes, C) (plain embeddings when G_shared is off), `stored_mean`, `stored_var` (C,); eval:
  batch_norm with the stored statistics and eps BN_eps, times (1 + gain[y]), plus bias[y].
  With G_shared on, `shared.weight` is an (n_classes, shared_dim) embedding and `gain`, `bias` are SN
  linears without bias, weight (C, shared_dim): their per-class values are linear in the class
  embedding, so they fold exactly into (n_classes, C) tables: shared.weight @ (W / sigma)^T.
- `blocks.i.1.theta`, `.phi` (SN 1x1 C -> C/8), `.g` (C -> C/2), `.o` (C/2 -> C), all without bias,
  and the scalar `gamma`: phi and g are 2x2 max-pooled, softmax over keys of theta^T phi without
  scaling, output x + gamma * o(...).
- `output_layer.0`: BN with `gain`, `bias`, `stored_mean`, `stored_var` (C,), eps 1e-5;
  `output_layer.2`: SN 3x3 conv C -> 3 with bias; then tanh.

Discriminator (`blocks.i.0` the residual down-block i, `blocks.i.1` its attention):
- `blocks.i.0.conv1`, `.conv2` (SN 3x3), `.conv_sc` (SN 1x1, when the width changes or it pools);
  every block but the last halves the side (at 32x32 only the first two); the first block is not
  pre-activated.
- `linear`: SN linear C -> 1; `embed`: SN embedding (n_classes, C), `u0` of shape (1, n_classes).

Mapping to ours: `blocks.i.0.{conv1,conv2,conv_sc,bn1,bn2}` -> `blocks.i.{conv1,conv2,shortcut,norm1,
norm2}`; `blocks.i.1.{theta,phi,g,o,gamma}` -> `attentions.<side>.{query,key,value,out,gamma}`;
`output_layer.0` -> `out_norm`, `output_layer.2` -> `out_conv`; D `embed` -> `embedding`. Our CBN gain
table is 1 + theirs (`core.cbn`); our generator takes BN_eps as its `bn_eps`, and the output BN's 1e-5
is folded into its stored variance where the two differ (`core.batchnorm`). The width tables are ours
(`models.modeling_sagan`) except at 32x32 (`architecture.py`).

Not convertible (refused with an error that names the option): hierarchical z (`hier`), `mybn` or
`cross_replica` BatchNorm, norm styles other than "bn", G_param/D_param other than "SN", the thin D
(`D_wide` off), BigGAN-deep, and D attention that code attaches after several blocks (at 4x4, and any at
32x32, where it files every block under 16); convert G alone with `include_discriminator=False`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..core import (
    SourceProject,
    build_pipeline,
    class_names_id2label,
    conversion_record,
    file_sha256,
    save_converted_pipeline,
)
from .architecture import (
    DEFAULT_BN_EPS,
    DEFAULT_SN_EPS,
    BigGANArchitecture,
    architecture_fields_from_config,
    check_architecture,
    check_supported_config,
    discriminator_attention_sides,
    discriminator_downsample,
    discriminator_multipliers,
    generator_multipliers,
    infer_architecture_fields,
    parse_attention,
    resolve_architecture,
)
from .convert import (
    ATTENTION_NAMES,
    OUTPUT_BN_EPS,
    convert_discriminator,
    convert_generator,
)
from .run_folder import (
    DISCRIMINATOR_FILE,
    GENERATOR_FILES,
    STATE_FILE,
    BigGANRun,
    load_biggan_run,
)

PROJECT = SourceProject("BigGAN-PyTorch", "https://github.com/ajbrock/BigGAN-PyTorch", "mit")

__all__ = [
    "ATTENTION_NAMES",
    "DEFAULT_BN_EPS",
    "DEFAULT_SN_EPS",
    "DISCRIMINATOR_FILE",
    "GENERATOR_FILES",
    "OUTPUT_BN_EPS",
    "PROJECT",
    "STATE_FILE",
    "BigGANArchitecture",
    "BigGANRun",
    "architecture_fields_from_config",
    "check_architecture",
    "check_supported_config",
    "convert_biggan_checkpoint",
    "convert_discriminator",
    "convert_generator",
    "discriminator_attention_sides",
    "discriminator_downsample",
    "discriminator_multipliers",
    "generator_multipliers",
    "infer_architecture_fields",
    "load_biggan_run",
    "parse_attention",
    "resolve_architecture",
]


def convert_biggan_checkpoint(
    weights_dir: str | Path,
    output_dir: str | Path | None = None,
    *,
    resolution: int | None = None,
    ch: int | None = None,
    attention_resolutions=None,
    num_classes: int | None = None,
    z_dim: int | None = None,
    sn_eps: float | None = None,
    bn_eps: float | None = None,
    include_discriminator: bool = True,
    class_names: str = "auto",
):
    """Convert a BigGAN-PyTorch weights folder into a `SAGANPipeline` (saved to `output_dir` when given).

    The architecture comes from the given arguments, else from `state_dict.pth`'s config, else from the
    weights' names and shapes. `class_names` ("auto", "imagenet", "cifar10", "none") sets the stored
    `id2label`. Returns the pipeline (models in eval mode).
    """
    run = load_biggan_run(weights_dir, include_discriminator)
    overrides = dict(
        resolution=resolution,
        ch=ch,
        attention_resolutions=attention_resolutions,
        num_classes=num_classes,
        z_dim=z_dim,
        sn_eps=sn_eps,
        bn_eps=bn_eps,
    )
    arch = resolve_architecture(
        run.config, overrides, run.generator_state, run.discriminator_state, include_discriminator
    )
    generator = convert_generator(run.generator_state, arch)
    discriminator = convert_discriminator(run.discriminator_state, arch) if include_discriminator else None
    id2label = class_names_id2label(class_names, arch.num_classes, arch.resolution)
    pipeline = build_pipeline(generator, discriminator, id2label)
    if output_dir is not None:
        files = [{"role": "generator", "name": run.generator_file.name, "sha256": file_sha256(run.generator_file)}]
        if include_discriminator:
            path = Path(weights_dir) / DISCRIMINATOR_FILE
            files.append({"role": "discriminator", "name": path.name, "sha256": file_sha256(path)})
        record = conversion_record(
            project=PROJECT, files=files,
            options={**{key: value for key, value in overrides.items() if value is not None},
                     "architecture": dataclasses.asdict(arch), "class_names": class_names},
            sampling={"generator": "EMA" if run.generator_file.name.startswith("G_ema") else "plain",
                      "truncation": None, "standing_statistics": False},
        )
        save_converted_pipeline(pipeline, output_dir, record)
    return pipeline

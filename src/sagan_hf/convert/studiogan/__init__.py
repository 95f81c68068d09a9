"""Convert StudioGAN (POSTECH-CVLab/PyTorch-StudioGAN) SAGAN checkpoints to our models.

The format (key names as stored in `state_dict`; C is a block's width)
----------------------------------------------------------------------
Two files per snapshot, `model=G-{best|current}-weights-step=N.pth` = {"state_dict", "optimizer"} and
`model=D-…` = {"state_dict", "optimizer", "seed", "run_name", "step", "epoch", "topk", "aa_p",
"best_step", "best_fid" (numpy float64), "best_fid_ckpt", "lecam_emas"}. Spectral norm is torch's hook
format (`X.weight_orig`, `X.weight_u`, `X.weight_v`, eps 1e-6); every conv has a bias except in attention.

Generator (src/models/resnet.py):
- `linear0`: SN linear z -> 16 * C0, viewed as (C0, 4, 4).
- `blocks.i.0` is a GenBlock (`bn1`, ReLU, nearest x2, `conv2d1` 3x3, `bn2`, ReLU, `conv2d2` 3x3;
  shortcut nearest x2 then `conv2d0` 1x1) or a SelfAttention (`conv1x1_theta`, `conv1x1_phi` C -> C/8,
  `conv1x1_g` C -> C/2, `conv1x1_attn` C/2 -> C, scalar `sigma` of shape (1,)) after the block before.
- `bnN`: BN without affine (`bn.running_mean/var`, eps 1e-4) times 1 + gain, plus bias, in one of three
  formats over its history: `gain`/`bias` SN linears (C, classes) on one_hot(y) (since 2022-03-06);
  a plain `shared` embedding (classes, z_dim) feeding SN linears (C, z_dim) (2022-01-25 .. 03-05);
  `embed0`/`embed1` SN embeddings (classes, C) (before). All fold into our tables (`core.cbn`).
- `bn4` (affine BN, eps 1e-4), ReLU, `conv2d5` (SN 3x3 C -> 3), tanh. Widths (as multiples of
  g_conv_dim): 32: 4,4,4,4; 64: 16,8,4,2,1; 128: 16,16,8,4,2,1.

Discriminator: `blocks.0.0` is the first block (`conv2d1`, ReLU, `conv2d2`, avg-pool; shortcut
avg-pool then `conv2d0`), later `blocks.i.0` pre-activation blocks whose ReLU is IN PLACE, so the
shortcut (`conv2d0` where the block pools or changes width, then avg-pool) sees relu(x), or
SelfAttention; pooling per its table (32: True, True, False, False; 64 and up: all but the last).
Then ReLU, sum over positions, `linear1` (SN C -> 1) + sum(`embedding`[y] * h) (SN embedding).

Sampling in StudioGAN: its generator is put in eval mode and then its Conv/Linear/Embedding layers are
switched back to training mode, so spectral norm runs (and stores) one power iteration per call.
`fold_power_iterations=k` reproduces its k-th call; 0 reproduces a plain eval(). The discriminator is
never run by its sampling and keeps its stored vectors.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..core import (
    build_pipeline,
    class_names_id2label,
    conversion_record,
    save_converted_pipeline,
)
from .architecture import (
    BN_EPS,
    CBN_EMBEDDINGS,
    CBN_ONEHOT_LINEAR,
    CBN_SHARED_EMBEDDING,
    SN_EPS,
    StudioGANArchitecture,
    read_discriminator_layout,
    read_generator_layout,
)
from .checkpoint import StudioGANFile, load_studiogan_file
from .convert import convert_discriminator, convert_generator
from .published import HUB_REPO, PROJECT, PUBLISHED, find_published

__all__ = [
    "BN_EPS",
    "CBN_EMBEDDINGS",
    "CBN_ONEHOT_LINEAR",
    "CBN_SHARED_EMBEDDING",
    "HUB_REPO",
    "PROJECT",
    "PUBLISHED",
    "SN_EPS",
    "StudioGANArchitecture",
    "StudioGANFile",
    "convert_discriminator",
    "convert_generator",
    "convert_studiogan_checkpoint",
    "find_published",
    "load_studiogan_file",
]


def convert_studiogan_checkpoint(
    generator: str | Path,
    output_dir: str | Path | None = None,
    *,
    discriminator: str | Path | None = None,
    fold_power_iterations: int = 0,
    class_names: str = "auto",
):
    """Convert StudioGAN SAGAN files into a `SAGANPipeline` (saved to `output_dir` when given).

    Args:
        generator: the `model=G-…pth` (or `model=G_ema-…pth`) file.
        discriminator: the matching `model=D-…pth` file, or None for a generator-only pipeline.
        fold_power_iterations: spectral-norm power iterations to fold into the generator (see above).
        class_names: "auto", "imagenet", "cifar10" or "none" (the stored `id2label`).

    Returns the pipeline (models in eval mode).
    """
    if isinstance(fold_power_iterations, bool) or not isinstance(fold_power_iterations, int) or fold_power_iterations < 0:
        raise ValueError(f"fold_power_iterations must be an integer >= 0, got {fold_power_iterations!r}")
    g_file = load_studiogan_file(generator, "G")
    d_file = load_studiogan_file(discriminator, "D") if discriminator is not None else None
    fields = read_generator_layout(g_file.state)
    if d_file is not None:
        fields.update(read_discriminator_layout(d_file.state, fields["resolution"]))
    arch = StudioGANArchitecture(**fields)
    converted_generator = convert_generator(g_file.state, arch, fold_power_iterations)
    converted_discriminator = convert_discriminator(d_file.state, arch) if d_file is not None else None
    pipeline = build_pipeline(converted_generator, converted_discriminator,
                              class_names_id2label(class_names, arch.num_classes, arch.resolution))
    if output_dir is not None:
        run_name = d_file.notes.get("run_name") if d_file is not None else None
        published = find_published(str(g_file.path.resolve()), run_name, resolution=arch.resolution,
                                   num_classes=arch.num_classes)
        files = [{"role": "generator", "name": g_file.path.name, "sha256": g_file.sha256}]
        if d_file is not None:
            files.append({"role": "discriminator", "name": d_file.path.name, "sha256": d_file.sha256})
        record = conversion_record(
            project=PROJECT, files=files,
            options={"fold_power_iterations": fold_power_iterations, "class_names": class_names,
                     "cbn_format": arch.cbn_format, "architecture": dataclasses.asdict(arch)},
            sampling=published.sampling if published is not None else {
                "generator": "plain", "truncation": None, "standing_statistics": True,
                "spectral_norm": "one power iteration per sampling call"},
            published=published,
            checkpoint_notes={**g_file.notes, **(d_file.notes if d_file is not None else {})},
        )
        save_converted_pipeline(pipeline, output_dir, record)
    return pipeline

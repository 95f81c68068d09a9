"""Convert MMGeneration (open-mmlab/mmgeneration) SAGAN checkpoints to our models.

The format (key names as stored; C is a block's width)
------------------------------------------------------
One file `{"meta": {...}, "state_dict": {...}}`; the state dict's keys start with `generator.`,
`discriminator.` and, for the runs that kept an EMA copy of G, `generator_ema.`. `meta` may hold the
training config as Python source (`meta["config"]`), the iteration, and `hook_msgs.best_score_*`
(numpy float64, which is why the file is read with an allow-list, see `core.checkpoint_file`).

Every spectral-norm layer uses torch's hook format: `X.weight_orig`, `X.weight_u` (rows),
`X.weight_v` (columns of weight_orig.reshape(rows, -1)); in eval mode sigma = u . (W v) from the
stored vectors, exactly our parametrisation, so they copy over (`core.spectral.torch_hook_reader`).

Generator (`SAGANGenerator`, MMGeneration's SNGANGenerator with attention):
- `noise2feat`: SN linear z -> 16 * C0, viewed as (C0, 4, 4).
- `conv_blocks.i` is a residual up-block (`conv_1.conv`, `conv_2.conv` SN 3x3, `shortcut.conv` SN 1x1,
  all with bias; `norm_1`, `norm_2` conditional BN: `norm.running_mean/var/num_batches_tracked`
  (BN without affine, eps `norm_eps`) and `weight_embedding`, `bias_embedding` (classes, C), SN
  embeddings except in the BigGAN-schedule config) or an attention block (`theta.conv`, `phi.conv`,
  `g.conv`, `o.conv` without bias, scalar `gamma`) following the block before it.
- CBN gain is 1 + weight_embedding[y] for BigGAN/studio initialisation (every published config),
  weight_embedding[y] otherwise; bias is bias_embedding[y].
- `to_rgb.bn` (affine BN, eps `norm_eps`), ReLU, `to_rgb.conv` (SN 3x3 C -> 3), tanh.

Discriminator (`ProjDiscriminator`):
- `from_rgb` (first block: `conv_1.conv`, ReLU, `conv_2.conv`, avg-pool; shortcut avg-pool then
  `shortcut.conv`), then `conv_blocks.i`: pre-activation residual blocks (`conv_1.conv`, `conv_2.conv`,
  `shortcut.conv` where a block pools or changes width; pooling per its `downsample_cfg`, default
  (True, False, False) at 32 and (True, True, True, True, False) at 128) or attention blocks.
- ReLU, sum over positions, `decision` (SN linear C -> 1) + sum(`proj_y`[y] * h) (SN embedding).
- `act_cfg=dict(type='ReLU', inplace=True)` (the `wReLUinplace` configs) makes the residual shortcut
  see relu(x): our `shortcut_takes_activation`.

Colour: MMGeneration's data pipelines feed BGR images, so its models write and read BGR. By default the
converter reverses G's output channels and D's input channels (`core.color`), giving RGB models; the
two StudioGAN conversions it published are RGB already (`--color_order rgb`, known from the table of
published files).
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
    COLOR_ORDERS,
    MMGenArchitecture,
    read_discriminator_layout,
    read_generator_layout,
    resolve_facts,
)
from .checkpoint import MMGenCheckpoint, load_mmgen_checkpoint
from .convert import convert_discriminator, convert_generator
from .published import PROJECT, PUBLISHED, find_published

GENERATOR_CHOICES = ("auto", "ema", "orig")

__all__ = [
    "COLOR_ORDERS",
    "GENERATOR_CHOICES",
    "PROJECT",
    "PUBLISHED",
    "MMGenArchitecture",
    "MMGenCheckpoint",
    "convert_discriminator",
    "convert_generator",
    "convert_mmgen_checkpoint",
    "find_published",
    "load_mmgen_checkpoint",
    "resolve_architecture",
]


def _generator_network(checkpoint: MMGenCheckpoint, choice: str) -> str:
    if choice not in GENERATOR_CHOICES:
        raise ValueError(f"generator must be one of {', '.join(GENERATOR_CHOICES)}; got {choice!r}")
    has_ema = "generator_ema" in checkpoint.networks
    if choice == "ema" and not has_ema:
        raise ValueError(f"{checkpoint.path} has no EMA generator (no 'generator_ema.' keys); use --generator orig")
    return "generator_ema" if choice == "ema" or (choice == "auto" and has_ema) else "generator"


def resolve_architecture(checkpoint: MMGenCheckpoint, generator_network: str, include_discriminator: bool,
                         overrides: dict) -> tuple[MMGenArchitecture, dict]:
    """The architecture of the checkpoint's networks, and where each fact not in the weights came from."""
    if overrides.get("color_order") not in (None, *COLOR_ORDERS):
        raise ValueError(f"color_order must be one of {', '.join(COLOR_ORDERS)}; got {overrides['color_order']!r}")
    if include_discriminator and "discriminator" not in checkpoint.networks:
        raise ValueError(f"{checkpoint.path} has no discriminator ('discriminator.' keys); use --no_discriminator")
    published = find_published(checkpoint.sha256)
    facts, origin = resolve_facts(overrides, checkpoint.config, published, include_discriminator)
    fields = read_generator_layout(checkpoint.networks[generator_network])
    if include_discriminator:
        fields.update(read_discriminator_layout(checkpoint.networks["discriminator"], fields["resolution"],
                                                facts.get("d_downsample")))
        fields["d_inplace_relu"] = facts["d_inplace_relu"]
    arch = MMGenArchitecture(**fields, gain_offset=facts["gain_offset"], bn_eps=facts["bn_eps"],
                             color_order=facts["color_order"])
    return arch, origin


def convert_mmgen_checkpoint(
    checkpoint: str | Path,
    output_dir: str | Path | None = None,
    *,
    generator: str = "auto",
    color_order: str | None = None,
    include_discriminator: bool = True,
    bn_eps: float | None = None,
    discriminator_inplace_relu: bool | None = None,
    class_names: str = "auto",
):
    """Convert an MMGeneration SAGAN checkpoint into a `SAGANPipeline` (saved to `output_dir` when given).

    Args:
        checkpoint: the `.pth` file.
        generator: "auto" (the EMA generator when the file has one), "ema" or "orig".
        color_order: "bgr" (reverse the channels into RGB) or "rgb" (keep them); default: the published
            file's, else "bgr" (MMGeneration's own training data).
        include_discriminator: convert the discriminator too.
        bn_eps, discriminator_inplace_relu: facts the weights do not show, for files that are neither
            published nor carry their config.
        class_names: "auto", "imagenet", "cifar10" or "none" (the stored `id2label`).

    Returns the pipeline (models in eval mode).
    """
    loaded = load_mmgen_checkpoint(checkpoint)
    network = _generator_network(loaded, generator)
    overrides = {"color_order": color_order, "bn_eps": bn_eps, "discriminator_inplace_relu": discriminator_inplace_relu}
    arch, origin = resolve_architecture(loaded, network, include_discriminator, overrides)
    converted_generator = convert_generator(loaded.networks[network], arch, f"the {network} state dict")
    discriminator = convert_discriminator(loaded.networks["discriminator"], arch) if include_discriminator else None
    pipeline = build_pipeline(converted_generator, discriminator,
                              class_names_id2label(class_names, arch.num_classes, arch.resolution))
    if output_dir is not None:
        published = find_published(loaded.sha256)
        record = conversion_record(
            project=PROJECT,
            files=[{"role": "checkpoint", "name": loaded.path.name, "sha256": loaded.sha256}],
            options={"generator": network, "color_order": arch.color_order, "class_names": class_names,
                     "discriminator": include_discriminator, "facts_from": origin,
                     "architecture": dataclasses.asdict(arch)},
            sampling=published.sampling if published is not None else {
                "generator": "EMA (generator_ema)" if network == "generator_ema" else "plain",
                "truncation": None, "standing_statistics": False},
            published=published,
            checkpoint_notes=loaded.notes(),
        )
        save_converted_pipeline(pipeline, output_dir, record)
    return pipeline

"""Training configuration: one dataclass with the paper's defaults, named presets, and the argument parser.

Precedence: dataclass defaults (the official SAGAN ImageNet recipe) < the chosen preset < flags given
on the command line. Only flags the user actually typed override the preset.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass

MIXED_PRECISION_CHOICES = ("no", "bf16", "fp16")
REPORT_TO_CHOICES = ("tensorboard", "wandb", "comet_ml", "mlflow", "all", "none")


@dataclass
class TrainConfig:
    """Every setting of a training run. Defaults are the official SAGAN ImageNet-128 recipe."""

    # Output and bookkeeping
    output_dir: str = "sagan-output"
    seed: int = 0
    report_to: str = "tensorboard"
    logging_steps: int = 100
    validation_steps: int = 5000
    validation_images_per_class: int = 8
    validation_max_classes: int = 10
    checkpointing_steps: int = 5000
    checkpoints_total_limit: int | None = None
    resume_from_checkpoint: str | None = None

    # Data
    dataset_name: str | None = "shapes"
    train_data_dir: str | None = None
    dataset_split: str = "train"
    image_column: str | None = None
    label_column: str | None = None
    num_classes: int | None = None
    cache_dir: str | None = None
    shuffle_buffer_size: int = 1000
    dataloader_num_workers: int = 0

    # Model
    resolution: int = 128
    ch: int = 64
    z_dim: int = 128
    g_attention_resolutions: tuple[int, ...] = (64,)
    d_attention_resolutions: tuple[int, ...] = (64,)
    init: str = "xavier"

    # Optimisation
    train_batch_size: int | None = None  # per process; None: global_batch_size split over processes
    global_batch_size: int | None = 256
    gradient_accumulation_steps: int = 1
    max_train_steps: int = 1_000_000
    max_train_seconds: float | None = None
    n_dis: int = 1
    learning_rate_g: float = 1e-4
    learning_rate_d: float = 4e-4
    adam_beta1: float = 0.0
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    ema_decay: float = 0.9999
    ema_start_step: int = 0
    ema_warmup: bool = True
    max_nonfinite_steps: int = 5

    # Speed
    mixed_precision: str | None = None  # None: whatever `accelerate config` / `accelerate launch` says
    compile: bool = False
    compile_backend: str = "inductor"
    channels_last: bool = False

    # Hub
    push_to_hub: bool = False
    hub_model_id: str | None = None
    hub_private: bool = False
    hub_push_every_checkpoint: bool = False

    # Evaluation during training (off by default)
    eval_steps: int | None = None
    eval_num_samples: int = 10_000
    eval_batch_size: int = 100
    eval_reference: str | None = None
    inception_weights: str | None = None

    # Test hook: each rank writes fingerprints of the batches it saw and of its weights
    record_rank_digests: bool = False

    preset: str | None = None

    def __post_init__(self):
        self.g_attention_resolutions = tuple(int(r) for r in self.g_attention_resolutions)
        self.d_attention_resolutions = tuple(int(r) for r in self.d_attention_resolutions)
        validate_config(self)

    def to_dict(self) -> dict:
        """A flat, JSON-serialisable dict of every field."""
        values = dataclasses.asdict(self)
        values["g_attention_resolutions"] = list(self.g_attention_resolutions)
        values["d_attention_resolutions"] = list(self.d_attention_resolutions)
        return values


def _fail(name: str, value, expected: str):
    raise ValueError(f"{name} must be {expected}, got {value!r}")


def validate_config(config: TrainConfig) -> None:
    """Raise a ValueError naming the first field with a bad value and what is expected."""
    positive_ints = (
        "logging_steps", "validation_steps", "validation_images_per_class", "validation_max_classes",
        "checkpointing_steps", "resolution", "ch", "z_dim", "gradient_accumulation_steps",
        "max_train_steps", "n_dis", "max_nonfinite_steps", "eval_num_samples", "eval_batch_size",
    )
    for name in positive_ints:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            _fail(name, value, "a positive integer")
    for name in ("train_batch_size", "global_batch_size", "checkpoints_total_limit", "eval_steps", "num_classes"):
        value = getattr(config, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            _fail(name, value, "a positive integer or unset")
    for name in ("seed", "shuffle_buffer_size", "dataloader_num_workers", "ema_start_step"):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            _fail(name, value, "an integer >= 0")
    if config.train_batch_size is None and config.global_batch_size is None:
        raise ValueError("set train_batch_size (per process) or global_batch_size (split over processes)")
    for name in ("learning_rate_g", "learning_rate_d", "adam_epsilon"):
        if not getattr(config, name) > 0:
            _fail(name, getattr(config, name), "a number > 0")
    for name in ("adam_beta1", "adam_beta2", "ema_decay"):
        value = getattr(config, name)
        if not 0.0 <= value < 1.0:
            _fail(name, value, "a number in [0, 1)")
    if config.max_train_seconds is not None and not config.max_train_seconds > 0:
        _fail("max_train_seconds", config.max_train_seconds, "a number of seconds > 0 or unset")
    if config.mixed_precision is not None and config.mixed_precision not in MIXED_PRECISION_CHOICES:
        _fail("mixed_precision", config.mixed_precision, f"one of {MIXED_PRECISION_CHOICES}")
    if config.mixed_precision == "fp16":
        raise ValueError(
            "mixed_precision='fp16' is not supported: Accelerate shares one gradient scaler between the "
            "two optimisers of a GAN (it would update twice per iteration). Use 'bf16' (no scaler needed) or 'no'."
        )
    for target in config.report_to.split(","):
        if target.strip() not in REPORT_TO_CHOICES:
            _fail("report_to", config.report_to, f"a comma list of {REPORT_TO_CHOICES}")
    if config.init not in ("xavier", "orthogonal"):
        _fail("init", config.init, "'xavier' or 'orthogonal'")
    if config.dataset_name is not None and config.train_data_dir is not None:
        raise ValueError("give either dataset_name or train_data_dir, not both")
    if config.push_to_hub and not config.hub_model_id:
        raise ValueError("push_to_hub needs hub_model_id (e.g. 'your-name/sagan-shapes')")
    if config.eval_steps is not None and not config.eval_reference:
        raise ValueError("eval_steps needs eval_reference: a .npz of reference Inception statistics")
    if config.preset is not None and config.preset not in PRESETS:
        _fail("preset", config.preset, f"one of {sorted(PRESETS)}")


# ---------------------------------------------------------------------------------------------------
# Presets: only the fields that differ from the dataclass defaults.

PRESETS: dict[str, dict] = {
    # The paper's run: ImageNet 128x128, batch 256 over all processes, 1M iterations, attention at 64.
    "imagenet128": dict(
        dataset_name="ILSVRC/imagenet-1k",
        resolution=128,
        ch=64,
        global_batch_size=256,
        max_train_steps=1_000_000,
        shuffle_buffer_size=10_000,
        dataloader_num_workers=8,
        logging_steps=100,
        validation_steps=5000,
        checkpointing_steps=5000,
        checkpoints_total_limit=3,
        ema_start_step=20_000,  # EMA is not in the paper; BigGAN-style: start once G has left its init
    ),
    # The CPU demo on the built-in shapes set (see PRESET_HELP for where it departs from the paper).
    "shapes-demo": dict(
        dataset_name="shapes",
        resolution=32,
        ch=16,
        z_dim=64,
        g_attention_resolutions=(16,),
        d_attention_resolutions=(16,),
        train_batch_size=32,
        global_batch_size=None,
        n_dis=1,
        learning_rate_g=1e-3,
        learning_rate_d=1e-3,
        ema_decay=0.999,
        ema_warmup=True,
        max_train_steps=100_000,
        max_train_seconds=300.0,
        logging_steps=50,
        validation_steps=500,
        checkpointing_steps=500,
        checkpoints_total_limit=2,
        shuffle_buffer_size=1000,
    ),
    # Tiny nets for tests and smoke runs: seconds on a CPU, learns nothing useful.
    "shapes-tiny": dict(
        dataset_name="shapes",
        resolution=32,
        ch=8,
        z_dim=16,
        g_attention_resolutions=(16,),
        d_attention_resolutions=(16,),
        train_batch_size=8,
        global_batch_size=None,
        max_train_steps=10,
        logging_steps=2,
        validation_steps=5,
        checkpointing_steps=5,
        shuffle_buffer_size=64,
        ema_decay=0.99,
        report_to="none",
    ),
}
PRESETS["debug"] = dict(PRESETS["shapes-tiny"])

PRESET_HELP = {
    "imagenet128": "the paper's run: ImageNet 128x128 (ILSVRC/imagenet-1k), global batch 256 split over the "
    "processes, 1M steps, TTUR 1e-4/4e-4, attention at 64x64 in G and D; EMA of G (0.9999, from step 20k) "
    "is an addition that every reproduction found to help",
    "shapes-demo": "the CPU demo on the built-in shapes set, a few minutes on 2 cores: 32 px, ch 16, z 64, "
    "attention at 16x16, batch 32. It departs from the paper on purpose: lr 1e-3 for both nets (the paper's "
    "1e-4/4e-4 needs 2-3x longer to show the classes on a CPU), a small width and EMA 0.999 with warm-up, "
    "so that samples follow their class within the time budget (--max_train_seconds 300)",
    "shapes-tiny": "tiny nets (ch 8, batch 8, 10 steps) for tests and smoke runs",
    "debug": "same as shapes-tiny",
}


def preset_values(name: str) -> dict:
    """The field overrides of a named preset."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
    return dict(PRESETS[name])


# ---------------------------------------------------------------------------------------------------
# Command line


def parse_resolution_list(text: str) -> tuple[int, ...]:
    """'64' or '32,64' -> (64,) / (32, 64); '' or 'none' -> () (no attention)."""
    text = text.strip().lower()
    if text in ("", "none"):
        return ()
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a comma list of integers such as '64' or '32,64', got {text!r}")
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"attention resolutions must be positive, got {text!r}")
    return values


def _optional_int(text: str) -> int | None:
    return None if text.lower() in ("none", "") else int(text)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser. Every default is SUPPRESS, so that only typed flags override the preset."""
    preset_lines = "\n".join(f"  {name}: {text}" for name, text in PRESET_HELP.items())
    parser = argparse.ArgumentParser(
        description="Train a SAGAN (Zhang et al., 2019) with Accelerate on a datasets stream.",
        epilog="Presets:\n" + preset_lines,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        argument_default=argparse.SUPPRESS,
    )
    add = parser.add_argument
    d = TrainConfig.__dataclass_fields__

    def default(name):
        return d[name].default

    g = parser.add_argument_group("run")
    g.add_argument("--preset", choices=sorted(PRESETS), help="named settings; flags given explicitly override them")
    g.add_argument("--output_dir", help=f"where checkpoints, samples and the pipeline go (default {default('output_dir')})")
    g.add_argument("--seed", type=int, help="base seed; each process adds its rank")
    g.add_argument("--report_to", help=f"tracker(s): {', '.join(REPORT_TO_CHOICES)} (default tensorboard)")
    g.add_argument("--logging_steps", type=int, help="log (and check for non-finite losses) every N steps")
    g.add_argument("--validation_steps", type=int, help="sample grid from fixed noise every N steps")
    g.add_argument("--validation_images_per_class", type=int, help="columns of the validation grid")
    g.add_argument("--validation_max_classes", type=int, help="rows (classes) of the validation grid")
    g.add_argument("--checkpointing_steps", type=int, help="save a resumable checkpoint every N steps")
    g.add_argument("--checkpoints_total_limit", type=_optional_int, help="keep at most N checkpoints")
    g.add_argument("--resume_from_checkpoint", help="'latest' or a checkpoint folder")
    g.add_argument("--max_nonfinite_steps", type=int, help="stop after this many non-finite steps in a row")

    g = parser.add_argument_group("data")
    g.add_argument("--dataset_name", help="Hub dataset id, or 'shapes' (built-in, the default)")
    g.add_argument("--train_data_dir", help="local folder of parquet / webdataset / image-folder data")
    g.add_argument("--dataset_split", help="split to train on (default train)")
    g.add_argument("--image_column", help="image column (detected when not given)")
    g.add_argument("--label_column", help="label column (detected when not given)")
    g.add_argument("--num_classes", type=int, help="class count when labels are plain integers")
    g.add_argument("--cache_dir", help="datasets cache folder")
    g.add_argument("--shuffle_buffer_size", type=int, help="examples in the shuffle buffer (0: no shuffle)")
    g.add_argument("--dataloader_num_workers", type=int, help="decode workers per process")

    g = parser.add_argument_group("model")
    g.add_argument("--resolution", type=int, help="image side (32, 64, 128, 256)")
    g.add_argument("--ch", type=int, help="base width (64 in the paper)")
    g.add_argument("--z_dim", type=int, help="latent size (128 in the paper)")
    g.add_argument("--attention_resolutions", type=parse_resolution_list,
                   help="comma list of feature-map sides with self-attention, in both nets (e.g. 64 or 32,64)")
    g.add_argument("--g_attention_resolutions", type=parse_resolution_list, help="the same, generator only")
    g.add_argument("--d_attention_resolutions", type=parse_resolution_list, help="the same, discriminator only")
    g.add_argument("--init", choices=("xavier", "orthogonal"), help="weight initialisation")

    g = parser.add_argument_group("optimisation")
    g.add_argument("--train_batch_size", type=int, help="batch per process per micro-step")
    g.add_argument("--global_batch_size", type=int,
                   help="total batch; sets train_batch_size = global / (processes x accumulation) when that is not given")
    g.add_argument("--gradient_accumulation_steps", type=int, help="micro-batches accumulated per update")
    g.add_argument("--max_train_steps", type=int, help="generator updates to train for")
    g.add_argument("--max_train_seconds", type=float, help="stop cleanly (checkpoint + pipeline) after this wall time")
    g.add_argument("--n_dis", type=int, help="discriminator steps per generator step")
    g.add_argument("--learning_rate_g", type=float, help="generator Adam learning rate")
    g.add_argument("--learning_rate_d", type=float, help="discriminator Adam learning rate")
    g.add_argument("--adam_beta1", type=float)
    g.add_argument("--adam_beta2", type=float)
    g.add_argument("--adam_epsilon", type=float)
    g.add_argument("--ema_decay", type=float, help="decay of the generator EMA")
    g.add_argument("--ema_start_step", type=int, help="the EMA copies G until this step, then averages")
    g.add_argument("--ema_warmup", action=argparse.BooleanOptionalAction,
                   help="ramp the EMA decay up as min(decay, (1+n)/(10+n))")

    g = parser.add_argument_group("speed")
    g.add_argument("--mixed_precision", choices=MIXED_PRECISION_CHOICES, help="'bf16' recommended on GPUs")
    g.add_argument("--compile", action="store_true", help="torch.compile both nets")
    g.add_argument("--compile_backend", help="torch.compile backend (default inductor)")
    g.add_argument("--channels_last", action="store_true", help="channels_last memory format")

    g = parser.add_argument_group("hub")
    g.add_argument("--push_to_hub", action="store_true", help="push the EMA pipeline at the end")
    g.add_argument("--hub_model_id", help="repo id to push to")
    g.add_argument("--hub_private", action="store_true")
    g.add_argument("--hub_push_every_checkpoint", action="store_true", help="also push at each checkpoint")

    g = parser.add_argument_group("evaluation")
    g.add_argument("--eval_steps", type=_optional_int, help="FID/IS of the EMA generator every N steps (off by default)")
    g.add_argument("--eval_num_samples", type=int)
    g.add_argument("--eval_batch_size", type=int)
    g.add_argument("--eval_reference", help=".npz reference statistics for FID")
    g.add_argument("--inception_weights", help="local path of the Inception weights")

    add("--record_rank_digests", action="store_true", help=argparse.SUPPRESS)
    return parser


def config_from_args(argv: list[str] | None = None) -> TrainConfig:
    """Parse the command line into a TrainConfig (preset first, then the flags that were typed)."""
    parser = build_parser()
    given = vars(parser.parse_args(argv))
    return make_config(given.pop("preset", None), **given)


def make_config(preset: str | None = None, **overrides) -> TrainConfig:
    """A TrainConfig from a preset plus explicit overrides (the same precedence as the command line).

    `attention_resolutions` sets both nets; `train_data_dir` without `dataset_name` clears the default
    dataset name.
    """
    values = preset_values(preset) if preset else {}
    both = overrides.pop("attention_resolutions", None)
    if both is not None:
        values["g_attention_resolutions"] = values["d_attention_resolutions"] = tuple(both)
    if overrides.get("train_data_dir") and "dataset_name" not in overrides:
        values["dataset_name"] = None
    values.update(overrides)
    unknown = set(values) - set(TrainConfig.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown training settings: {sorted(unknown)}")
    return TrainConfig(preset=preset, **values)

"""Training configuration: one dataclass with the paper's defaults, and named presets.

Each setting is declared once, as a field with its help text and check (`sagan_hf.options.option`):
`sagan-hf train` builds its flags from these fields, `check_options` validates them. Precedence:
dataclass defaults (the official SAGAN ImageNet recipe) < the chosen preset < explicit overrides (the
flags a user typed).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..data import DataOptions
from ..options import option

MIXED_PRECISION_CHOICES = ("no", "bf16", "fp16")
REPORT_TO_CHOICES = ("tensorboard", "wandb", "comet_ml", "mlflow", "all", "none")
ATTENTION_IMPLEMENTATION_CHOICES = ("auto", "fused", "explicit")


def parse_resolution_list(text: str) -> tuple[int, ...]:
    """'64' or '32,64' -> (64,) / (32, 64); '' or 'none' -> () (no attention)."""
    text = text.strip().lower()
    if text in ("", "none"):
        return ()
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"expected a comma list of integers such as '64' or '32,64', got {text!r}") from None
    if any(v < 1 for v in values):
        raise ValueError(f"attention resolutions must be positive, got {text!r}")
    return values


@dataclass
class TrainConfig(DataOptions):
    """Every setting of a training run (the data fields come from `DataOptions`).

    Defaults are the official SAGAN ImageNet-128 recipe.
    """

    # Output and bookkeeping
    output_dir: str = option("sagan-output", "where checkpoints, samples and the pipeline go", group="run",
                             path="output_dir")
    seed: int = option(0, "base seed; each process adds its rank", check="non_negative", group="run")
    report_to: str = option("tensorboard", f"tracker(s), a comma list of {', '.join(REPORT_TO_CHOICES)}", group="run")
    logging_steps: int = option(100, "log (and check for non-finite losses) every N steps", check="positive", group="run")
    validation_steps: int = option(5000, "sample grid from fixed noise every N steps", check="positive", group="run")
    validation_images_per_class: int = option(8, "columns of the validation grid", check="positive", group="run")
    validation_max_classes: int = option(10, "rows (classes) of the validation grid", check="positive", group="run")
    checkpointing_steps: int = option(5000, "save a resumable checkpoint every N steps", check="positive", group="run")
    checkpoints_total_limit: int | None = option(None, "keep at most N checkpoints", check="positive_or_none", group="run")
    resume_from_checkpoint: str | None = option(None, "'latest' or a checkpoint folder", group="run")
    max_nonfinite_steps: int = option(5, "stop after this many non-finite steps in a row", check="positive", group="run")

    # Model
    resolution: int = option(128, "image side (32, 64, 128, 256)", check="positive", group="model")
    ch: int = option(64, "base width (64 in the paper)", check="positive", group="model")
    z_dim: int = option(128, "latent size (128 in the paper)", check="positive", group="model")
    g_attention_resolutions: tuple[int, ...] = option(
        (64,), "comma list of feature-map sides with self-attention in the generator (e.g. 64 or 32,64; none)",
        parse=parse_resolution_list, group="model")
    d_attention_resolutions: tuple[int, ...] = option(
        (64,), "the same, discriminator", parse=parse_resolution_list, group="model")
    init: str = option("xavier", "weight initialisation", choices=("xavier", "orthogonal"), group="model")

    # Optimisation
    train_batch_size: int | None = option(
        None, "batch per process per micro-step (default: global_batch_size split over processes)",
        check="positive_or_none", group="optimisation")
    global_batch_size: int | None = option(
        256, "total batch; sets train_batch_size = global / (processes x accumulation) when that is not given",
        check="positive_or_none", group="optimisation")
    gradient_accumulation_steps: int = option(1, "micro-batches accumulated per update", check="positive",
                                              group="optimisation")
    max_train_steps: int = option(1_000_000, "generator updates to train for", check="positive", group="optimisation")
    max_train_seconds: float | None = option(
        None, "stop cleanly (checkpoint + pipeline) after this wall time", check="positive_number_or_none",
        group="optimisation")
    n_dis: int = option(1, "discriminator steps per generator step", check="positive", group="optimisation")
    learning_rate_g: float = option(1e-4, "generator Adam learning rate", check="positive_number", group="optimisation")
    learning_rate_d: float = option(4e-4, "discriminator Adam learning rate", check="positive_number",
                                    group="optimisation")
    adam_beta1: float = option(0.0, "Adam beta1", check="fraction", group="optimisation")
    adam_beta2: float = option(0.999, "Adam beta2 (the official code's value; the paper says 0.9)", check="fraction",
                               group="optimisation")
    adam_epsilon: float = option(1e-8, "Adam epsilon", check="positive_number", group="optimisation")
    ema_decay: float = option(0.9999, "decay of the generator EMA", check="fraction", group="optimisation")
    ema_start_step: int = option(0, "the EMA copies G until this step, then averages", check="non_negative",
                                 group="optimisation")
    ema_warmup: bool = option(True, "ramp the EMA decay up as min(decay, (1+n)/(10+n))", group="optimisation")

    # Speed
    mixed_precision: str | None = option(
        None, "'bf16' recommended on GPUs (default: what `accelerate config` / `accelerate launch` says)",
        choices=MIXED_PRECISION_CHOICES, group="speed")
    compile: bool = option(False, "torch.compile both nets", group="speed")
    compile_backend: str = option("inductor", "torch.compile backend", group="speed")
    channels_last: bool | None = option(
        None, "channels_last memory format for both nets and the real batches (exact). Default: by device: on "
        "with CUDA; on a CPU for images up to 64 px (faster there; at 128 px its weight-gradient kernels were "
        "slower); the resolved choice is recorded in train_config.json", group="speed")
    attention_implementation: str = option(
        "auto", "self-attention path: 'fused' (scaled_dot_product_attention, never builds the N x N/4 maps), "
        "'explicit' (builds them), or 'auto': explicit on a CPU when the maps fit in memory (faster there), "
        "else fused; the resolved choice is recorded in train_config.json",
        choices=ATTENTION_IMPLEMENTATION_CHOICES, group="speed")

    # Hub
    push_to_hub: bool = option(False, "push the EMA pipeline at the end", group="hub")
    hub_model_id: str | None = option(None, "repo id to push to", group="hub")
    hub_private: bool = option(False, "create the repo as private", group="hub")
    hub_push_every_checkpoint: bool = option(False, "also push at each checkpoint", group="hub")

    # Evaluation during training (off by default)
    eval_steps: int | None = option(None, "FID/IS of the EMA generator every N steps (off by default)",
                                    check="positive_or_none", group="evaluation")
    eval_num_samples: int = option(10_000, "samples per periodic evaluation", check="positive", group="evaluation")
    eval_batch_size: int = option(100, "batch of the periodic evaluation", check="positive", group="evaluation")
    eval_reference: str | None = option(None, ".npz reference statistics for FID", group="evaluation",
                                        path="existing_file")
    inception_weights: str | None = option(None, "local path of the Inception weights", group="evaluation",
                                           path="existing_file")

    preset: str | None = option(None, "named settings; flags given explicitly override them", group="run", cli=False)

    def __post_init__(self):
        self.g_attention_resolutions = tuple(int(r) for r in self.g_attention_resolutions)
        self.d_attention_resolutions = tuple(int(r) for r in self.d_attention_resolutions)
        super().__post_init__()  # every field's own check (DataOptions' and ours)
        check_combinations(self)

    def to_dict(self) -> dict:
        """A flat, JSON-serialisable dict of every field."""
        values = dataclasses.asdict(self)
        values["g_attention_resolutions"] = list(self.g_attention_resolutions)
        values["d_attention_resolutions"] = list(self.d_attention_resolutions)
        return values


def resolve_train_batch_size(config: TrainConfig, num_processes: int) -> int:
    """Per-process micro-batch: `train_batch_size`, or `global_batch_size` split over processes and accumulation."""
    if config.train_batch_size is not None:
        return config.train_batch_size
    parts = num_processes * config.gradient_accumulation_steps
    if config.global_batch_size % parts:
        raise ValueError(
            f"global_batch_size={config.global_batch_size} does not split evenly over {num_processes} processes x "
            f"{config.gradient_accumulation_steps} accumulation steps; set --train_batch_size per process instead"
        )
    return config.global_batch_size // parts


def check_combinations(config: TrainConfig) -> None:
    """Raise a ValueError for settings that are fine alone but not together (or not supported)."""
    if config.train_batch_size is None and config.global_batch_size is None:
        raise ValueError("set train_batch_size (per process) or global_batch_size (split over processes)")
    if config.mixed_precision == "fp16":
        raise ValueError(
            "mixed_precision='fp16' is not supported: Accelerate shares one gradient scaler between the "
            "two optimisers of a GAN (it would update twice per iteration). Use 'bf16' (no scaler needed) or 'no'."
        )
    for target in config.report_to.split(","):
        if target.strip() not in REPORT_TO_CHOICES:
            raise ValueError(f"report_to must be a comma list of {REPORT_TO_CHOICES}, got {config.report_to!r}")
    if config.push_to_hub and not config.hub_model_id:
        raise ValueError("push_to_hub needs hub_model_id (e.g. 'your-name/sagan-shapes')")
    if config.eval_steps is not None and not config.eval_reference:
        raise ValueError("eval_steps needs eval_reference: a .npz of reference Inception statistics")
    if config.preset is not None and config.preset not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {config.preset!r}")


# ---------------------------------------------------------------------------------------------------
# Presets: only the fields that differ from the dataclass defaults.

# Steps of the shapes demo, chosen so that its samples follow their class (>= 95% by the demo report's
# classifier) with a margin. Measured on one thread (EMA checkpoints of one run, 200 samples per class):
# 95.2% at 900 steps, 95.4% at 1000, 97.1% at 1100, 99.0% at 1200 and 1300, 98.7-99.1% up to 1700.
DEMO_STEPS = 1300

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
        # A fixed amount of work, so that the result does not depend on how busy the machine is: a slower
        # or busier machine takes longer, not worse (7 minutes on 2 idle AVX2 cores; threads: cpu_threads.py).
        max_train_steps=DEMO_STEPS,
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
    "shapes-demo": f"the CPU demo on the built-in shapes set: {DEMO_STEPS} steps (about 5 minutes on 2 idle cores), "
    "32 px, ch 16, z 64, attention at 16x16, batch 32. It departs from the paper on purpose: lr 1e-3 for both "
    "nets (the paper's 1e-4/4e-4 needs 2-3x longer to show the classes on a CPU), a small width and EMA 0.999 "
    "with warm-up, so that samples follow their class after a few minutes of CPU",
    "shapes-tiny": "tiny nets (ch 8, batch 8, 10 steps) for tests and smoke runs",
    "debug": "same as shapes-tiny",
}


def preset_values(name: str) -> dict:
    """The field overrides of a named preset."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
    return dict(PRESETS[name])


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

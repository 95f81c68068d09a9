"""The model configurations and per-device sizes the benchmark runs."""

from __future__ import annotations

from dataclasses import dataclass

from sagan_hf.training.config import TrainConfig, make_config


@dataclass(frozen=True)
class BenchConfig:
    """A named model configuration: a trainer preset and its class count."""

    name: str
    preset: str
    num_classes: int
    description: str

    def train_config(self, batch_size: int, output_dir: str, **speed) -> TrainConfig:
        """The trainer's config for this model at `batch_size` per process, with speed flags."""
        return make_config(
            self.preset, train_batch_size=batch_size, global_batch_size=None, output_dir=output_dir,
            report_to="none", num_classes=self.num_classes, **speed,
        )


CONFIGS = {
    "small": BenchConfig("small", "shapes-demo", 5, "32 px, ch 16, z 64, attention at 16x16 (the CPU demo preset)"),
    "paper": BenchConfig("paper", "imagenet128", 1000, "128 px, ch 64, attention at 64x64 (SAGAN ImageNet)"),
}

# Training / sampling batch per device when --batch_sizes is not given.
DEFAULT_TRAIN_BATCH = {
    ("small", "cpu"): [32], ("paper", "cpu"): [2],
    ("small", "cuda"): [256], ("paper", "cuda"): [64, 256],
}
DEFAULT_SAMPLE_BATCH = {
    ("small", "cpu"): 64, ("paper", "cpu"): 4,
    ("small", "cuda"): 1024, ("paper", "cuda"): 256,
}


def parse_configs(text: str) -> list[BenchConfig]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in CONFIGS]
    if unknown or not names:
        raise ValueError(f"--configs must be a comma list of {sorted(CONFIGS)}, got {text!r}")
    return [CONFIGS[name] for name in names]

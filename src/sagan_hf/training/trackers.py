"""Experiment trackers of a run (`--report_to`): checked before training starts.

Accelerate drops a requested tracker whose package is missing with a debug message, so a run asked to
log to wandb would train for hours and log nothing. Here a named tracker that cannot be imported is a
ValueError at start, naming the package and the extra that installs it. `all` keeps Accelerate's
meaning: every tracker that is installed.
"""

from __future__ import annotations

import importlib
from pathlib import Path

# --report_to name -> (module to import, pip requirement that provides it)
TRACKER_PACKAGES = {
    "tensorboard": ("tensorboard", "'sagan-hf[tensorboard]'"),
    "wandb": ("wandb", "'sagan-hf[wandb]'"),
    "comet_ml": ("comet_ml", "comet_ml"),
    "mlflow": ("mlflow", "mlflow"),
}


def resolve_trackers(report_to: str) -> list[str] | None:
    """The tracker names for `Accelerator(log_with=...)`; a ValueError when one is not installed."""
    names = [name.strip() for name in report_to.split(",") if name.strip() and name.strip() != "none"]
    for name in names:
        if name not in TRACKER_PACKAGES:
            continue  # "all", or a name the config check has already refused
        module, requirement = TRACKER_PACKAGES[name]
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise ValueError(
                f"report_to={name} needs the {module} package, which cannot be imported ({error}); install it "
                f"with `pip install {requirement}`, or choose another tracker (--report_to none logs nothing)"
            ) from None
    return names or None


def tracker_init_kwargs(output_dir: str | Path) -> dict:
    """Per-tracker options of `init_trackers`: wandb writes its run files under output_dir/logs, next to
    TensorBoard's, instead of the current directory."""
    logs = Path(output_dir) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    return {"wandb": {"dir": str(logs)}}

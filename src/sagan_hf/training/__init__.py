"""Training: the config, the train step, checkpoints and the Accelerate loop (`train`).

Names are imported on first use (PEP 562): `sagan-hf train --help` and the argument checks need only
`training.config`, not torch, diffusers and accelerate.
"""

from __future__ import annotations

import importlib

_PUBLIC = {
    "SAGANTrainStep": "train_step",
    "TrainCallback": "callbacks",
    "TrainConfig": "config",
    "make_config": "config",
    "train": "trainer",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_PUBLIC[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))

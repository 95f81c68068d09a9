"""sagan-hf: Self-Attention GANs (Zhang et al., 2019) as diffusers models and pipelines.

The public classes are imported on first use (PEP 562), so that `sagan-hf COMMAND --help` and the
command line's argument checks do not pay for importing diffusers (seconds). diffusers 0.42 resolves
the components named in a saved `model_index.json` only from modules that are already imported:
`sagan_hf.pipelines` therefore imports `sagan_hf.models`, and each name below imports both.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_PUBLIC = {
    "SAGANDiscriminator": "models",
    "SAGANGenerator": "models",
    "SelfAttention2d": "models",
    "SAGANPipeline": "pipelines",
    "SAGANPipelineOutput": "pipelines",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    importlib.import_module(f"{__name__}.pipelines")  # the pipelines and the models, for diffusers' loader
    value = getattr(importlib.import_module(f"{__name__}.{_PUBLIC[name]}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))

"""sagan-hf: Self-Attention GANs (Zhang et al., 2019) as diffusers models and pipelines.

The public classes are imported on first use (PEP 562, `lazy_exports.py`), so that `sagan-hf COMMAND
--help` and the argument checks do not pay for importing diffusers (seconds). diffusers 0.42 resolves the
components named in a saved `model_index.json` only from modules that are already imported:
`sagan_hf.pipelines` therefore imports `sagan_hf.models` itself.
"""

from __future__ import annotations

from .lazy_exports import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "SAGANDiscriminator": "models",
    "SAGANGenerator": "models",
    "SelfAttention2d": "models",
    "SAGANPipeline": "pipelines",
    "SAGANPipelineOutput": "pipelines",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

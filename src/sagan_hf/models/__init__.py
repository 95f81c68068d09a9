"""SAGAN networks, all in `modeling_sagan.py` (the file a Hub repo carries as its remote code).

Imported with `sagan_hf.pipelines` (and on first use of a class from `sagan_hf`): diffusers resolves saved
components only from modules that are already imported;
`generator` and `discriminator` keep the module paths of pipelines saved by earlier versions working.
"""

from . import discriminator, generator  # noqa: F401
from .modeling_sagan import (
    SAGANDiscriminator,
    SAGANGenerator,
    SelfAttention2d,
    fold_for_sampling,
    fold_spectral_norm,
    is_spectral_norm_folded,
    set_attention_implementation,
    spectral_normed_modules,
)

__all__ = [
    "SAGANDiscriminator",
    "SAGANGenerator",
    "SelfAttention2d",
    "fold_for_sampling",
    "fold_spectral_norm",
    "is_spectral_norm_folded",
    "set_attention_implementation",
    "spectral_normed_modules",
]

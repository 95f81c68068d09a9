"""Where pipelines saved before the networks moved into `modeling_sagan.py` look for the generator.

Their `model_index.json` names `sagan_hf.models.generator`; diffusers resolves it from this module.
"""

from diffusers import ModelMixin  # noqa: F401  (diffusers looks the base class up in this module)

from .modeling_sagan import SAGANGenerator

__all__ = ["SAGANGenerator"]

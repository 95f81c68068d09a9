"""Where pipelines saved before the networks moved into `modeling_sagan.py` look for the discriminator.

Their `model_index.json` names `sagan_hf.models.discriminator`; diffusers resolves it from this module.
"""

from diffusers import ModelMixin  # noqa: F401  (diffusers looks the base class up in this module)

from .modeling_sagan import SAGANDiscriminator

__all__ = ["SAGANDiscriminator"]

"""SAGAN networks. Imported eagerly: diffusers resolves saved components only from imported modules."""

from .attention import SelfAttention2d, set_attention_implementation
from .discriminator import SAGANDiscriminator
from .generator import SAGANGenerator
from .inference import fold_spectral_norm

__all__ = ["SAGANDiscriminator", "SAGANGenerator", "fold_spectral_norm", "SelfAttention2d", "set_attention_implementation"]

"""SAGAN networks. Imported eagerly: diffusers resolves saved components only from imported modules."""

from .attention import SelfAttention2d, set_attention_implementation
from .discriminator import SAGANDiscriminator
from .generator import SAGANGenerator

__all__ = ["SAGANDiscriminator", "SAGANGenerator", "SelfAttention2d", "set_attention_implementation"]

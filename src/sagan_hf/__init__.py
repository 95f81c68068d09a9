"""sagan-hf: Self-Attention GANs (Zhang et al., 2019) as diffusers models and pipelines.

The model modules are imported eagerly: diffusers 0.42 resolves the components named in a saved
`model_index.json` only from modules that are already imported.
"""

from .models import SAGANDiscriminator, SAGANGenerator, SelfAttention2d
from .pipelines import SAGANPipeline, SAGANPipelineOutput

__version__ = "0.1.0"

__all__ = ["SAGANDiscriminator", "SAGANGenerator", "SAGANPipeline", "SAGANPipelineOutput", "SelfAttention2d"]

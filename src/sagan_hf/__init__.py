"""sagan-hf: Self-Attention GANs (Zhang et al., 2019) as diffusers models and pipelines."""

__version__ = "0.1.0"

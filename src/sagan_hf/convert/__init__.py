"""Published checkpoints of other code bases -> SAGANPipeline folders, one subpackage per source.

- `mmgen`: MMGeneration's SAGAN checkpoints (open-mmlab/mmgeneration, configs/sagan).
- `studiogan`: StudioGAN's SAGAN files (POSTECH-CVLab/PyTorch-StudioGAN).
- `biggan`: SAGAN-configured runs of BigGAN-PyTorch (ajbrock/BigGAN-PyTorch).
- `core`: what they share, one place per rule (safe loading, spectral-norm vectors, BatchNorm eps,
  class-conditional tables, key mapping, colour order, class names, the conversion record).

docs/pretrained.md lists the published checkpoints and the commands that convert them.
"""

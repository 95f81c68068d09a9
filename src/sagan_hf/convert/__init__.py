"""Published checkpoints of other code bases -> SAGANPipeline folders, one subpackage per source.

`biggan`: SAGAN-configured runs of BigGAN-PyTorch (ajbrock/BigGAN-PyTorch).
"""

"""The parts of the BigGAN-PyTorch checkpoint converter; the public entry point, and the format's
description, is `sagan_hf.hub.convert_biggan`."""

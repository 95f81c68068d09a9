#!/usr/bin/env python
"""Convert a SAGAN-configured BigGAN-PyTorch run into a SAGANPipeline folder; see docs/convert_biggan.md.

A thin shim over `sagan-hf convert biggan`; `--help` lists the flags.
"""

import sys

from sagan_hf.cli import convert


def main(argv=None) -> int:
    return convert.main(argv, source="biggan")


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Convert StudioGAN SAGAN files (model=G-/D-...pth) into a SAGANPipeline folder; see docs/pretrained.md.

A thin shim over `sagan-hf convert studiogan`; `--help` lists the flags.
"""

import sys

from sagan_hf.cli import convert


def main(argv=None) -> int:
    return convert.main(argv, source="studiogan")


if __name__ == "__main__":
    sys.exit(main())

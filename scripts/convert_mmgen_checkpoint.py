#!/usr/bin/env python
"""Convert an MMGeneration SAGAN checkpoint into a SAGANPipeline folder; see docs/pretrained.md.

A thin shim over `sagan-hf convert mmgen`; `--help` lists the flags.
"""

import sys

from sagan_hf.cli import convert


def main(argv=None) -> int:
    return convert.main(argv, source="mmgen")


if __name__ == "__main__":
    sys.exit(main())

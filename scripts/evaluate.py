#!/usr/bin/env python
"""Score a SAGAN pipeline with FID, IS, KID and precision/recall; see docs/evaluation.md.

A thin shim over `sagan-hf evaluate`; `--help` lists the flags.
"""

import sys

from sagan_hf.cli.evaluate import main

if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Train a SAGAN: `accelerate launch scripts/train.py --preset shapes-demo --output_dir runs/shapes`.

A thin shim over `sagan-hf train`; `--help` lists the flags.
"""

import sys

from sagan_hf.cli.train import main

if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""The attention explorer: a local web app to generate images and see where a clicked pixel attends.

A thin shim over `sagan-hf explore`; `--help` lists the flags.
"""

import sys

from sagan_hf.cli.explore import main

if __name__ == "__main__":
    sys.exit(main())

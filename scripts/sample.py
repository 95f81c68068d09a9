#!/usr/bin/env python
"""Sample a SAGAN pipeline: a grid per class, a grid of all classes and the attention-map figure.

A thin shim over `sagan-hf sample`; `--help` lists the flags.
"""

import sys

from sagan_hf.cli.sample import main

if __name__ == "__main__":
    sys.exit(main())

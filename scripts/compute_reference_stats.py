#!/usr/bin/env python
"""Compute Inception reference statistics of a real dataset; see docs/evaluation.md.

A thin shim over `sagan-hf reference-stats`; `--help` lists the flags.
"""

import sys

from sagan_hf.cli.reference_stats import main

if __name__ == "__main__":
    sys.exit(main())

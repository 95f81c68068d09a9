#!/usr/bin/env python
"""Push a saved SAGAN pipeline to the Hugging Face Hub with a generated model card.

A thin shim over `sagan-hf push`; `--help` lists the flags.
"""

import sys

from sagan_hf.cli.push import main

if __name__ == "__main__":
    sys.exit(main())

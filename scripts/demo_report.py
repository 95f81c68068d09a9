#!/usr/bin/env python
"""Score and picture the pipeline of a demo run (the second half of `make demo`).

A thin shim over `sagan-hf demo --no_train --output_dir RUN`; `--help` lists the flags.
"""

import sys

from sagan_hf.cli import demo


def main(argv=None) -> int:
    return demo.main(["--no_train", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())

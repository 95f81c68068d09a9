"""`python -m sagan_hf.cli ...` is `sagan-hf ...`."""

import sys

from .main import main

sys.exit(main())

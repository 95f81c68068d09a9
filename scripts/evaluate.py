#!/usr/bin/env python
"""Score a SAGAN pipeline with FID, IS, KID and precision/recall; see docs/evaluation.md.

Example:
    python scripts/evaluate.py --pipeline ./sagan-out --num_samples 50000 --reference imagenet128.npz \
        --metrics fid,is --output report.json
"""

from sagan_hf.evaluation.commands import evaluate_main

if __name__ == "__main__":
    evaluate_main()

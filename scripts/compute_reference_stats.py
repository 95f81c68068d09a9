#!/usr/bin/env python
"""Compute Inception reference statistics of a real dataset (npz with metadata); see docs/evaluation.md.

Example:
    python scripts/compute_reference_stats.py --dataset_name ILSVRC/imagenet-1k --resolution 128 \
        --output imagenet128_train.npz
"""

from sagan_hf.evaluation.commands import reference_main

if __name__ == "__main__":
    reference_main()

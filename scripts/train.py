#!/usr/bin/env python
"""Train a SAGAN: a thin command-line front end over `sagan_hf.training.trainer.train`.

    python scripts/train.py --preset shapes-demo --output_dir runs/shapes
    accelerate launch --multi_gpu --num_processes 8 scripts/train.py --preset imagenet128 \
        --dataset_name ILSVRC/imagenet-1k --output_dir runs/sagan128 --report_to tensorboard

`python scripts/train.py --help` lists every flag and preset; docs/training.md explains them.
"""

import logging
import sys

from sagan_hf.training.config import config_from_args
from sagan_hf.training.trainer import train


def main(argv=None) -> int:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    config = config_from_args(argv)
    result = train(config)
    print(f"trained to step {result.global_step} in {result.train_time_seconds:.0f} s; pipeline in {result.output_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

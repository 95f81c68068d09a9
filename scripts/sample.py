#!/usr/bin/env python
"""Sample a SAGAN pipeline: a grid per class, a grid of all classes, and the attention-map figure.

    python scripts/sample.py --pipeline runs/shapes-demo --output_dir samples/
    python scripts/sample.py --pipeline org/sagan-imagenet128 --classes 207,360,980 --truncation 1.0
"""

import argparse

import torch

from sagan_hf import SAGANPipeline
from sagan_hf.sample_grids import write_samples


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline", required=True, help="a folder written by save_pretrained/training, or a Hub repo id")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--classes", default=None, help="comma-separated class indices (default: the first 16)")
    parser.add_argument("--class_names", default=None, help="comma-separated names used in file names")
    parser.add_argument("--per_class", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--truncation", type=float, default=None)
    parser.add_argument("--no_attention_maps", action="store_true")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    pipe = SAGANPipeline.from_pretrained(args.pipeline, dtype=dtype).to(args.device)
    pipe.set_progress_bar_config(disable=True)
    classes = [int(c) for c in args.classes.split(",")] if args.classes else None
    names = args.class_names.split(",") if args.class_names else None
    written = write_samples(
        pipe, args.output_dir, classes=classes, class_names=names, per_class=args.per_class, seed=args.seed,
        truncation=args.truncation, attention_maps=not args.no_attention_maps,
    )
    print(f"wrote {len(written['grids'])} class grids, {written['samples_grid']}"
          + (f" and {written['attention_maps']}" if "attention_maps" in written else ""))


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Score and picture a pipeline trained on the built-in `shapes` set (the second half of `make demo`).

    python scripts/demo_report.py --pipeline runs/shapes-demo --output_dir runs/shapes-demo/report
"""

import argparse

from sagan_hf.demo_report import format_report, run_demo_report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline", required=True, help="the training output_dir (or any saved shapes pipeline)")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--samples_per_class", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    report = run_demo_report(args.pipeline, args.output_dir, samples_per_class=args.samples_per_class, seed=args.seed)
    print(format_report(report))


if __name__ == "__main__":
    main()

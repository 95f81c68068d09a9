#!/usr/bin/env python
"""Push a saved SAGAN pipeline to the Hugging Face Hub with a generated model card.

    python scripts/push_to_hub.py --pipeline runs/x --repo_id me/sagan-x \
        [--private] [--eval_report report.json] [--train_config runs/x/train_config.json]

The token comes from --token, the HF_TOKEN environment variable or `hf auth login`; it is never printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pipeline", required=True, type=Path,
                        help="folder written by SAGANPipeline.save_pretrained (model_index.json inside)")
    parser.add_argument("--repo_id", required=True, help="target repo, 'namespace/name'")
    parser.add_argument("--private", action="store_true", help="create the repo as private (new repos only)")
    parser.add_argument("--eval_report", type=Path, default=None,
                        help="evaluation report JSON (FID/IS/...); without it the card says 'not evaluated'")
    parser.add_argument("--train_config", type=Path, default=None,
                        help="training arguments JSON (default: PIPELINE/train_config.json when present)")
    parser.add_argument("--commit_message", default=None,
                        help="commit message (default: 'Upload SAGAN pipeline')")
    parser.add_argument("--token", default=None,
                        help="Hub token with write access (default: HF_TOKEN or the `hf auth login` cache)")
    parser.add_argument("--no_discriminator", action="store_true",
                        help="upload the generator only (smaller; cannot be fine-tuned as a GAN afterwards)")
    parser.add_argument("--no_images", action="store_true", help="do not generate sample/attention images")
    parser.add_argument("--license", default="apache-2.0", help="license id of the weights for the card")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Imported here so that --help answers without loading torch and diffusers.
    from sagan_hf import SAGANPipeline
    from sagan_hf.hub import (
        HubTokenNotFoundError,
        check_repo_id,
        load_json_report,
        push_pipeline_to_hub,
        resolve_token,
    )

    # Every check that needs no model comes first, so mistakes are reported before the slow part.
    try:
        token = resolve_token(args.token)
    except HubTokenNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not (args.pipeline / "model_index.json").is_file():
        raise SystemExit(f"error: {args.pipeline} is not a saved pipeline folder (no model_index.json in it)")
    train_config_path = args.train_config
    if train_config_path is None and (args.pipeline / "train_config.json").is_file():
        train_config_path = args.pipeline / "train_config.json"
    try:
        check_repo_id(args.repo_id)
        train_config = load_json_report(train_config_path, "Training config") if train_config_path else None
        eval_report = load_json_report(args.eval_report, "Evaluation report") if args.eval_report else None
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None

    pipeline = SAGANPipeline.from_pretrained(str(args.pipeline))
    commit = push_pipeline_to_hub(
        pipeline,
        args.repo_id,
        private=args.private,
        token=token,
        eval_report=eval_report,
        train_config=train_config,
        commit_message=args.commit_message,
        include_discriminator=not args.no_discriminator,
        include_images=not args.no_images,
        license=args.license,
    )
    print(f"Pushed {args.pipeline} to {args.repo_id}: {commit}")
    print(f'Load it with: SAGANPipeline.from_pretrained("{args.repo_id}")')
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`sagan-hf push` (and `scripts/push_to_hub.py`): a saved pipeline folder -> a Hub repo with a model card.

The token comes from --token, the HF_TOKEN environment variable or `hf auth login`; it is never printed.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from ..options import check_options, check_paths, option
from .arguments import add_dataclass_arguments, dataclass_from_args
from .errors import command_main
from .loading import load_pipeline

DESCRIPTION = ("Push a saved SAGAN pipeline to the Hugging Face Hub with a generated model card, in a layout that "
               "plain diffusers loads too (trust_remote_code=True).")
EXAMPLES = """example:
  sagan-hf push --pipeline runs/x --repo_id me/sagan-x [--private] [--eval_report report.json]
  sagan-hf push --pipeline runs/x --repo_id me/sagan-x --space_repo me/sagan-x-explorer"""


@dataclass(kw_only=True)
class PushOptions:
    pipeline: str = option(help="folder written by SAGANPipeline.save_pretrained (model_index.json inside)",
                           path="pipeline_folder")
    repo_id: str = option(help="target repo, 'namespace/name'")
    private: bool = option(False, "create the repo as private (new repos only)")
    eval_report: str | None = option(None, "evaluation report JSON (FID/IS/...); without it the card says "
                                     "'not evaluated'")
    train_config: str | None = option(None, "training arguments JSON (default: PIPELINE/train_config.json when present)")
    commit_message: str | None = option(None, "commit message (default: 'Upload SAGAN pipeline')")
    token: str | None = option(None, "Hub token with write access (default: HF_TOKEN or the `hf auth login` cache)")
    discriminator: bool = option(True, "upload the discriminator too (without it the model cannot be fine-tuned "
                                 "as a GAN)")
    images: bool = option(True, "generate sample and attention images for the card")
    license: str | None = option(None, "license id of the weights for the card (default: the source's licence for "
                                 "a converted checkpoint, else apache-2.0)")
    space_repo: str | None = option(None, "also create/update the Gradio Space 'namespace/name' that runs the attention "
                                    "explorer (`sagan-hf explore`) on the pushed revision")
    space_requirement: str | None = option(None, "the pip requirement the Space installs sagan-hf with (default: "
                                           "sagan-hf[app]==<this version>; e.g. a git URL)")

    def __post_init__(self):
        check_options(self)


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="sagan-hf push")
    parser.description, parser.epilog = DESCRIPTION, EXAMPLES
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_dataclass_arguments(parser, PushOptions)
    return parser


def push(options: PushOptions) -> int:
    from ..hub import HubTokenNotFoundError, check_repo_id, load_json_report, push_pipeline_to_hub, resolve_token

    # Every check that needs no model comes first, so mistakes are reported before the slow part.
    check_paths(options)
    try:
        token = resolve_token(options.token)
    except HubTokenNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    folder = Path(options.pipeline)
    train_config_path = Path(options.train_config) if options.train_config else None
    if train_config_path is None and (folder / "train_config.json").is_file():
        train_config_path = folder / "train_config.json"
    check_repo_id(options.repo_id)
    if options.space_repo:
        from ..app.space import space_files

        check_repo_id(options.space_repo)
        space_files(options.repo_id, requirement=options.space_requirement)  # a bad requirement stops here
    train_config = load_json_report(train_config_path, "Training config") if train_config_path else None
    # written by `sagan-hf convert`: the card's "Converted from" section
    conversion_path = folder / "conversion.json"
    conversion = load_json_report(conversion_path, "Conversion record") if conversion_path.is_file() else None
    eval_report = load_json_report(Path(options.eval_report), "Evaluation report") if options.eval_report else None

    pipeline = load_pipeline(str(folder))  # a damaged or non-finite weights file stops here, before any upload
    commit = push_pipeline_to_hub(
        pipeline, options.repo_id, private=options.private, token=token, eval_report=eval_report,
        train_config=train_config, commit_message=options.commit_message,
        include_discriminator=options.discriminator, include_images=options.images, license=options.license,
        conversion=conversion,
    )
    print(f"Pushed {folder} to {options.repo_id}: {commit}")
    if options.space_repo:
        from ..app.space import push_space

        space_commit = push_space(options.space_repo, options.repo_id, revision=commit.oid, private=options.private,
                                  token=token, requirement=options.space_requirement)
        print(f"Space {options.space_repo} runs the attention explorer on it: {space_commit}")
    print(f'Load it with: SAGANPipeline.from_pretrained("{options.repo_id}", revision="{commit.oid}")')
    print(f'or without sagan-hf: DiffusionPipeline.from_pretrained("{options.repo_id}", trust_remote_code=True, '
          f'revision="{commit.oid}")')
    return 0


def run(args: argparse.Namespace) -> int:
    return push(dataclass_from_args(PushOptions, args))


main = command_main(build_parser, run)


if __name__ == "__main__":
    sys.exit(main())

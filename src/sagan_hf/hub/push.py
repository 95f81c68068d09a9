"""Push a SAGAN pipeline to the Hugging Face Hub: weights, card and images in one commit."""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path

from huggingface_hub import CommitInfo, HfApi, get_token

from ..pipelines.pipeline_sagan import first_non_finite
from .card_images import ATTENTION_IMAGE, SAMPLES_IMAGE, save_card_images
from .model_card import DEFAULT_LICENSE, render_model_card

logger = logging.getLogger(__name__)

# Files a pipeline folder may hold; anything else (pickles above all) is refused before upload.
_ALLOWED_SUFFIXES = {".safetensors", ".json", ".md", ".png", ".txt"}
# Remote files replaced by each push, so a repo never keeps stale weights (or old pickles) next to new ones.
_REPLACED_REMOTE_FILES = ["*.safetensors", "*/config.json", "model_index.json", "*.bin", "*.pkl", "*.pt",
                          "*.pth", "*.ckpt", "*.msgpack", SAMPLES_IMAGE, ATTENTION_IMAGE]
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}$")


class HubTokenNotFoundError(RuntimeError):
    """Raised when a push has no Hugging Face token to authenticate with."""


def resolve_token(token: str | None = None) -> str:
    """The token to push with: the argument, else huggingface_hub's usual sources (HF_TOKEN, then the
    `hf auth login` cache). Raises `HubTokenNotFoundError` with login instructions when there is none."""
    token = token or get_token()
    if not token:
        raise HubTokenNotFoundError(
            "No Hugging Face token found, so nothing can be pushed to the Hub. Run `hf auth login` once, "
            "or set the HF_TOKEN environment variable (a token with write access from "
            "https://huggingface.co/settings/tokens), or pass `token=`."
        )
    return token


def check_repo_id(repo_id: str) -> str:
    """Validates an `"org/name"` repo id."""
    if not isinstance(repo_id, str) or not _REPO_ID.match(repo_id) or "--" in repo_id or ".." in repo_id:
        raise ValueError(
            f"Invalid repo id {repo_id!r}: expected 'namespace/name' (letters, digits, '-', '_', '.'), "
            "e.g. 'my-user/sagan-imagenet128'"
        )
    return repo_id


def _pipeline_for_upload(pipeline, include_discriminator: bool):
    if include_discriminator or getattr(pipeline, "discriminator", None) is None:
        return pipeline
    return type(pipeline)(generator=pipeline.generator, discriminator=None)


def check_finite_weights(pipeline, include_discriminator: bool = True) -> None:
    """Refuse NaN or infinite weights (a diverged run) before anything is uploaded: they would sample black images."""
    for name in ("generator", "discriminator")[: 1 + bool(include_discriminator)]:
        module = getattr(pipeline, name, None)
        bad = first_non_finite(module) if module is not None else None
        if bad is not None:
            raise ValueError(f"Refusing to upload: the {name}'s {bad} holds NaN or infinite values")


def _check_no_pickles(folder: Path) -> None:
    unsafe = [p for p in folder.rglob("*") if p.is_file() and p.suffix not in _ALLOWED_SUFFIXES]
    if unsafe:
        names = ", ".join(str(p.relative_to(folder)) for p in unsafe)
        raise RuntimeError(f"Refusing to upload files that are not safetensors/JSON/card files: {names}")


def push_pipeline_to_hub(
    pipeline,
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    eval_report: dict | None = None,
    train_config: dict | None = None,
    commit_message: str | None = None,
    include_discriminator: bool = True,
    include_images: bool = True,
    license: str = DEFAULT_LICENSE,  # noqa: A002 - the Hub's metadata key
) -> CommitInfo:
    """Uploads `pipeline` with a rendered model card to `repo_id` in one commit.

    The repo is created if needed. The pipeline is saved as safetensors only, the card (README.md) is
    rendered from the pipeline config, `train_config` and `eval_report`, and a sample grid and an
    attention-map image are generated and uploaded with it. Pushing again replaces weights, card and
    images (a new commit; older commits stay reachable with `revision=`).

    Args:
        pipeline: a `SAGANPipeline`.
        repo_id: `"namespace/name"` on the Hub.
        private: create the repo as private (only used when the repo does not exist yet).
        token: a Hub token with write access; default: HF_TOKEN or the `hf auth login` cache. It is sent
            to the Hub only, never printed, logged or written to disk.
        eval_report: the evaluation report dict (FID/IS/... and protocol), or None for "not evaluated".
        train_config: the trainer's `train_config.json` dict, or None.
        commit_message: defaults to "Upload SAGAN pipeline".
        include_discriminator: also upload the discriminator (for fine-tuning); the generator always is.
        include_images: generate and upload `samples.png` and `attention.png` for the card.
        license: the license id of the weights for the card metadata.

    Returns:
        `huggingface_hub.CommitInfo`: a `str` of the commit URL, with the commit id in `.oid`.
    """
    check_finite_weights(pipeline, include_discriminator)

    check_repo_id(repo_id)
    token = resolve_token(token)
    api = HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)

    to_upload = _pipeline_for_upload(pipeline, include_discriminator)
    with tempfile.TemporaryDirectory(prefix="sagan_hf_push_") as tmp:
        folder = Path(tmp)
        to_upload.save_pretrained(folder, safe_serialization=True)
        images = save_card_images(to_upload, folder) if include_images else {}
        card = render_model_card(
            to_upload,
            repo_id,
            train_config=train_config,
            eval_report=eval_report,
            license=license,
            **images,
        )
        card.save(folder / "README.md")
        _check_no_pickles(folder)
        commit = api.upload_folder(
            repo_id=repo_id,
            folder_path=folder,
            commit_message=commit_message or "Upload SAGAN pipeline",
            delete_patterns=_REPLACED_REMOTE_FILES,
        )
    logger.info("Pushed %s to %s (commit %s)", type(pipeline).__name__, repo_id, commit.oid)
    return commit

"""Push a SAGAN pipeline to the Hugging Face Hub: weights, code, card and images in one commit.

The repo gets the remote-code layout (see `remote_code.py`), so it loads with sagan-hf's
`SAGANPipeline.from_pretrained` and with plain diffusers (`trust_remote_code=True`) alike.
"""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path

from huggingface_hub import CommitInfo, HfApi, get_token

from .card_images import ATTENTION_IMAGE, SAMPLES_IMAGE, save_card_images
from .model_card import DEFAULT_LICENSE, render_model_card
from .remote_code import CODE_FILE_PATTERNS, remote_code_files, save_remote_code_layout

logger = logging.getLogger(__name__)

# Data files a pushed folder may hold, besides the package's own code files; anything else (pickles above
# all, or any other Python file) is refused before upload.
_ALLOWED_SUFFIXES = {".safetensors", ".json", ".md", ".png", ".txt"}
# Remote files replaced by each push, so a repo never keeps stale weights, code (or old pickles) next to new ones.
_REPLACED_REMOTE_FILES = ["*.safetensors", "*/config.json", "model_index.json", "*.bin", "*.pkl", "*.pt",
                          "*.pth", "*.ckpt", "*.msgpack", *CODE_FILE_PATTERNS, SAMPLES_IMAGE, ATTENTION_IMAGE]
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
    return type(pipeline)(generator=pipeline.generator, discriminator=None, id2label=pipeline.id2label)


def check_upload_files(folder: Path, code_files: dict[str, bytes]) -> None:
    """Refuse a folder holding anything but data files and exactly the package's code files.

    `code_files` maps repo paths to the bytes each code file must have (see `remote_code_files`).
    """
    unsafe = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if name in code_files:
            if path.read_bytes() != code_files[name]:
                unsafe.append(f"{name} (not the package's own file)")
        elif path.suffix not in _ALLOWED_SUFFIXES:
            unsafe.append(name)
    if unsafe:
        raise RuntimeError(
            "Refusing to upload files that are not safetensors/JSON/card files or the package's code files "
            f"({', '.join(sorted(code_files))}): {', '.join(unsafe)}"
        )


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

    The repo is created if needed. The pipeline is saved as safetensors only, in the remote-code layout:
    with the package's `pipeline_sagan.py` and `modeling_sagan.py` (byte for byte), so that plain diffusers
    loads it with `trust_remote_code=True` and sagan-hf without running them. The card (README.md) is
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
    check_repo_id(repo_id)
    to_upload = _pipeline_for_upload(pipeline, include_discriminator)
    remote_code_files(to_upload)  # refuses anything but a SAGAN pipeline before the repo is created
    token = resolve_token(token)
    api = HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="sagan_hf_push_") as tmp:
        folder = Path(tmp)
        code_files = save_remote_code_layout(to_upload, folder)
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
        check_upload_files(folder, code_files)
        commit = api.upload_folder(
            repo_id=repo_id,
            folder_path=folder,
            commit_message=commit_message or "Upload SAGAN pipeline",
            delete_patterns=_REPLACED_REMOTE_FILES,
        )
    logger.info("Pushed %s to %s (commit %s)", type(pipeline).__name__, repo_id, commit.oid)
    return commit

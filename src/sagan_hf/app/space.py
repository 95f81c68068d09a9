"""A Hugging Face Space that runs the attention explorer on a pushed model (`sagan-hf push --space_repo`).

The Space is three small files: `app.py` (which runs `sagan-hf explore` on the model, pinned to
the revision that was just pushed), `requirements.txt` (sagan-hf with its
`app` extra) and a README whose metadata tells the Hub it is a Gradio app. The Space must be able to
install sagan-hf: by default the requirement names this version on PyPI; `requirement=` (flag
`--space_requirement`) takes any pip requirement instead, such as a git URL.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

GRADIO_SDK_VERSION = "6.31.0"  # the gradio release the app is built and tested with

_APP_PY = '''"""The sagan-hf attention explorer on {model} (a Space written by `sagan-hf push --space_repo`)."""

import sys

from sagan_hf.cli.explore import main

MODEL = {model!r}
REVISION = {revision!r}  # the commit pushed with this Space: later pushes to the model do not change it

if __name__ == "__main__":
    # `sagan-hf explore`; host and port come from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, which Spaces set
    sys.exit(main(["--pipeline", MODEL] + (["--revision", REVISION] if REVISION else [])))
'''

_README = """---
title: {title}
emoji: 🔍
colorFrom: indigo
colorTo: yellow
sdk: gradio
sdk_version: {sdk_version}
app_file: app.py
pinned: false
models:
- {model}
tags:
- sagan
- gan
- self-attention
---

# Attention explorer for [{model}](https://huggingface.co/{model})

Generate images of a class, click a pixel, and see where that location attends in each self-attention
layer of the generator (Zhang et al., 2019, [arXiv 1805.08318](https://arxiv.org/abs/1805.08318)).
Runs `sagan-hf explore` on revision `{revision}` of the model; the same app runs locally with
`sagan-hf explore --pipeline {model}`.
"""


def default_requirement() -> str:
    from .. import __version__

    return f"sagan-hf[app]=={__version__}"


def space_files(model_repo_id: str, *, revision: str | None = None, requirement: str | None = None) -> dict[str, str]:
    """The Space's files (name -> text) for the model `model_repo_id` at `revision` (None: latest)."""
    from ..hub import check_repo_id

    check_repo_id(model_repo_id)
    requirement = (requirement or default_requirement()).strip()
    if not requirement or "\n" in requirement:
        raise ValueError(f"the Space requirement must be one pip requirement line, got {requirement!r}")
    title = model_repo_id.split("/")[1][:30]
    return {
        "app.py": _APP_PY.format(model=model_repo_id, revision=revision),
        "requirements.txt": requirement + "\n",
        "README.md": _README.format(title=title, sdk_version=GRADIO_SDK_VERSION, model=model_repo_id,
                                    revision=revision or "main"),
    }


def write_space(folder: str | Path, model_repo_id: str, **kwargs) -> Path:
    """Write the Space's files into `folder` (created if needed); returns it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in space_files(model_repo_id, **kwargs).items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def push_space(space_repo_id: str, model_repo_id: str, *, revision: str | None = None,
               requirement: str | None = None, private: bool = False, token: str | None = None):
    """Create (or update) the Gradio Space `space_repo_id` running the explorer on the model; one commit.

    Returns the `huggingface_hub.CommitInfo` of the Space commit.
    """
    from huggingface_hub import HfApi

    from ..hub import check_repo_id, resolve_token

    check_repo_id(space_repo_id)
    api = HfApi(token=resolve_token(token))
    with tempfile.TemporaryDirectory() as folder:
        write_space(folder, model_repo_id, revision=revision, requirement=requirement)
        api.create_repo(space_repo_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
        return api.upload_folder(repo_id=space_repo_id, repo_type="space", folder_path=folder,
                                 commit_message=f"Attention explorer for {model_repo_id}")

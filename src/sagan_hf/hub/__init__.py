"""Sharing SAGAN pipelines on the Hugging Face Hub: model cards, the remote-code layout and one-commit pushes."""

from .model_card import LIBRARY_NAME, build_card_data, load_json_report, render_model_card
from .push import HubTokenNotFoundError, check_repo_id, push_pipeline_to_hub, resolve_token
from .remote_code import save_remote_code_layout

__all__ = [
    "LIBRARY_NAME",
    "HubTokenNotFoundError",
    "build_card_data",
    "check_repo_id",
    "load_json_report",
    "push_pipeline_to_hub",
    "render_model_card",
    "resolve_token",
    "save_remote_code_layout",
]

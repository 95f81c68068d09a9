"""Reading an MMGeneration checkpoint file: its networks' state dicts, meta data and config."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import torch

from ..core import file_sha256, load_checkpoint_file
from .config_text import parse_config_text

EXPECTED = ("an MMGeneration checkpoint: a dict with 'state_dict' whose keys start with 'generator.' and "
            "'discriminator.' (and 'generator_ema.' for an EMA generator)")
NETWORK_PREFIXES = ("generator_ema", "generator", "discriminator")


@dataclasses.dataclass
class MMGenCheckpoint:
    """An MMGeneration checkpoint, loaded."""

    path: Path
    sha256: str
    networks: dict[str, dict]  # "generator", "generator_ema", "discriminator" -> state dict
    meta: dict
    config: dict | None  # the training config parsed from meta["config"], when the file has one

    def notes(self) -> dict:
        """Values the file records about its training, for the conversion record."""
        notes = {key: self.meta[key] for key in ("iter", "epoch", "exp_name", "mmgen_version") if key in self.meta}
        messages = self.meta.get("hook_msgs")
        if isinstance(messages, Mapping):
            notes.update({key: float(value) for key, value in messages.items() if key.startswith("best_score")})
        return notes


def _plain(value):
    """numpy scalars as Python numbers (the meta data holds some), so the record is JSON."""
    return value.item() if hasattr(value, "item") and not isinstance(value, torch.Tensor) else value


def load_mmgen_checkpoint(path: str | Path) -> MMGenCheckpoint:
    """Load `path` with `weights_only=True` and split its state dict by network."""
    path = Path(path)
    loaded = load_checkpoint_file(path, EXPECTED)
    state = loaded.get("state_dict") if isinstance(loaded, Mapping) else None
    if not isinstance(state, Mapping):
        found = sorted(map(str, loaded))[:8] if isinstance(loaded, Mapping) else type(loaded).__name__
        raise ValueError(f"{path} is not {EXPECTED}; found {found}")
    networks: dict[str, dict] = {}
    for key, tensor in state.items():
        network, _, rest = str(key).partition(".")
        if network in NETWORK_PREFIXES and rest:
            networks.setdefault(network, {})[rest] = tensor
    if "generator" not in networks:
        prefixes = sorted({str(key).split(".", 1)[0] for key in state})
        raise ValueError(f"{path} is not {EXPECTED}; its state_dict has the prefixes {prefixes}")
    meta = loaded.get("meta") if isinstance(loaded.get("meta"), Mapping) else {}
    meta = {key: _plain(value) for key, value in meta.items()}
    if isinstance(meta.get("hook_msgs"), Mapping):
        meta["hook_msgs"] = {key: _plain(value) for key, value in meta["hook_msgs"].items()}
    config_text = meta.get("config")
    config = parse_config_text(config_text) if isinstance(config_text, str) else None
    return MMGenCheckpoint(path, file_sha256(path), networks, meta, config or None)

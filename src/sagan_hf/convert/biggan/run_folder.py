"""Reading a BigGAN-PyTorch weights folder: its G/D state dicts and the training config."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path

import torch

from ..core import load_checkpoint_file

logger = logging.getLogger(__name__)

GENERATOR_FILES = ("G_ema.pth", "G.pth")  # in order of preference
DISCRIMINATOR_FILE = "D.pth"
STATE_FILE = "state_dict.pth"


def _torch_load(path: Path):
    """`torch.load(weights_only=True)` with nn.ReLU allowed too: their config holds the activations."""
    return load_checkpoint_file(path, "a BigGAN-PyTorch weights file", extra_globals=[torch.nn.ReLU])


def _as_state_dict(loaded, path: Path) -> dict:
    if not isinstance(loaded, Mapping) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise ValueError(f"{path} is not a state dict (a mapping of names to tensors)")
    # A network saved while wrapped in (Distributed)DataParallel prefixes every key with "module.".
    if loaded and all(key.startswith("module.") for key in loaded):
        return {key[len("module."):]: value for key, value in loaded.items()}
    return dict(loaded)


@dataclasses.dataclass
class BigGANRun:
    """The files of a BigGAN-PyTorch weights folder, loaded."""

    generator_state: dict
    generator_file: Path
    discriminator_state: dict | None
    config: dict | None


def load_biggan_run(weights_dir: str | Path, include_discriminator: bool = True) -> BigGANRun:
    """Read `G_ema.pth` (or `G.pth`), `D.pth` and `state_dict.pth` (optional) from a run's weights folder."""
    folder = Path(weights_dir)
    if not folder.is_dir():
        raise ValueError(f"weights_dir {folder} is not a directory")
    generator_file = next((folder / name for name in GENERATOR_FILES if (folder / name).is_file()), None)
    if generator_file is None:
        raise ValueError(
            f"{folder} holds neither G_ema.pth nor G.pth: expected a BigGAN-PyTorch weights folder"
        )
    discriminator_state = None
    if include_discriminator:
        if not (folder / DISCRIMINATOR_FILE).is_file():
            raise ValueError(f"{folder} has no D.pth (convert the generator alone with --no_discriminator)")
        path = folder / DISCRIMINATOR_FILE
        discriminator_state = _as_state_dict(_torch_load(path), path)
    config = None
    if (folder / STATE_FILE).is_file():
        state = _torch_load(folder / STATE_FILE)
        if isinstance(state, Mapping) and isinstance(state.get("config"), Mapping):
            config = dict(state["config"])
        else:
            logger.warning(
                "%s has no 'config' dict; the architecture comes from arguments and the weights",
                folder / STATE_FILE,
            )
    logger.info("Converting the generator from %s", generator_file.name)
    return BigGANRun(
        generator_state=_as_state_dict(_torch_load(generator_file), generator_file),
        generator_file=generator_file,
        discriminator_state=discriminator_state,
        config=config,
    )

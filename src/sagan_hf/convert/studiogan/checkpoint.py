"""Reading StudioGAN's `model=G-…pth` / `model=D-…pth` files."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

from ..core import file_sha256, load_checkpoint_file

EXPECTED = {
    "G": "a StudioGAN generator file (model=G-...-weights-step=N.pth: a dict with 'state_dict' holding 'linear0.*')",
    "D": "a StudioGAN discriminator file (model=D-...-weights-step=N.pth: a dict with 'state_dict' holding 'blocks.*' and 'linear1.*')",
}
FIRST_KEYS = {"G": "linear0.weight_orig", "D": "linear1.weight_orig"}  # their first and last layers
# D files record the training run next to the weights; these are kept for the conversion record.
NOTE_KEYS = ("run_name", "step", "best_step", "best_fid")


@dataclasses.dataclass
class StudioGANFile:
    path: Path
    sha256: str
    state: dict
    notes: dict  # run_name, step, best_step, best_fid where the file has them


def load_studiogan_file(path: str | Path, network: str) -> StudioGANFile:
    """Load a G or D file with `weights_only=True` and check that it holds that network."""
    path = Path(path)
    loaded = load_checkpoint_file(path, EXPECTED[network])
    state = loaded.get("state_dict") if isinstance(loaded, Mapping) else None
    if not isinstance(state, Mapping):
        raise ValueError(f"{path} is not {EXPECTED[network]}: it has no 'state_dict'")
    state = dict(state)
    if state and all(key.startswith("module.") for key in state):  # saved from inside DataParallel
        state = {key[len("module."):]: value for key, value in state.items()}
    if FIRST_KEYS[network] not in state:
        other = "D" if network == "G" else "G"
        looks_like = f" (it looks like {EXPECTED[other].split(' (')[0]})" if FIRST_KEYS[other] in state else ""
        raise ValueError(f"{path} is not {EXPECTED[network]}: no '{FIRST_KEYS[network]}'{looks_like}")
    notes = {}
    for key in NOTE_KEYS:
        value = loaded.get(key)
        if isinstance(value, (int, float, str)) or hasattr(value, "item"):
            notes[key] = value.item() if hasattr(value, "item") else value
    return StudioGANFile(path, file_sha256(path), state, notes)

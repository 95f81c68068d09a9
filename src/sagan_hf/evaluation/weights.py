"""Finding, downloading, verifying and loading the FID Inception weights.

Order of look-up: an explicit path, then the ``SAGAN_INCEPTION_WEIGHTS`` environment variable, then
the torch hub cache (``torch.hub.get_dir()/checkpoints/<file>``), downloading the file there when
allowed. The full SHA-256 is always checked; a file that does not match is refused unless the caller
explicitly asks for non-standard weights (tests only), and then every number is labelled as such.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from .inception import FIDInceptionV3
from .standard_weights_spec import (
    WEIGHTS_FILENAME,
    WEIGHTS_NUM_BYTES,
    WEIGHTS_SHA256,
    WEIGHTS_URL,
    standard_state_dict_shapes,
)

WEIGHTS_ENV_VAR = "SAGAN_INCEPTION_WEIGHTS"

HOW_TO_GET_WEIGHTS = (
    f"FID/IS need the standard FID Inception weights '{WEIGHTS_FILENAME}' "
    f"({WEIGHTS_NUM_BYTES:,} bytes, SHA-256 {WEIGHTS_SHA256}). Get them on a machine with internet:\n"
    f"    curl -L -o {WEIGHTS_FILENAME} {WEIGHTS_URL}\n"
    f"then pass --inception_weights PATH (or set {WEIGHTS_ENV_VAR}=PATH), or put the file in the "
    f"torch hub cache ({{hub_dir}}). No other network's numbers are reported as FID or IS."
)


class InceptionWeightsError(RuntimeError):
    """The standard FID Inception weights are missing, corrupt or not the standard file."""


@dataclass(frozen=True)
class WeightsInfo:
    """Where the weights came from and whether they are the standard FID file."""

    path: str
    sha256: str
    standard: bool


def sha256_of_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def hub_cache_weights_path() -> Path:
    """Where the torch hub cache keeps (or would keep) the standard weights file."""
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILENAME


def _refusal(reason: str) -> InceptionWeightsError:
    how = HOW_TO_GET_WEIGHTS.replace("{hub_dir}", str(hub_cache_weights_path().parent))
    return InceptionWeightsError(f"{reason}\n{how}")


def _download_to_hub_cache(url: str) -> Path:
    target = hub_cache_weights_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(url, str(target), progress=True)
    except Exception as error:  # no internet, proxy, HTTP error...: all mean "could not get them"
        raise _refusal(f"Could not download the FID Inception weights from {url}: {error}") from error
    sha256 = sha256_of_file(target)
    if sha256 != WEIGHTS_SHA256:
        target.unlink()  # never leave a bad file where the next run would find it
        raise _refusal(f"The file downloaded from {url} has SHA-256 {sha256}, expected {WEIGHTS_SHA256}.")
    return target


def resolve_weights_path(
    weights_path: str | os.PathLike | None = None, *, download: bool = True, url: str = WEIGHTS_URL
) -> Path:
    """Finds the weights file (explicit path, then $SAGAN_INCEPTION_WEIGHTS, then the hub cache).

    Downloads into the hub cache when nothing is found and ``download`` is true. Raises
    :class:`InceptionWeightsError` with instructions when no file can be had.
    """
    explicit = weights_path if weights_path is not None else os.environ.get(WEIGHTS_ENV_VAR) or None
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise _refusal(f"Inception weights file not found: {path}")
        return path
    cached = hub_cache_weights_path()
    if cached.is_file():
        return cached
    if not download:
        raise _refusal(f"No FID Inception weights given and none in the torch hub cache ({cached}).")
    return _download_to_hub_cache(url)


def _check_state_dict(state_dict: object, path: Path) -> dict[str, torch.Tensor]:
    if not isinstance(state_dict, dict):
        raise _refusal(f"{path} does not hold a state dict (found {type(state_dict).__name__}).")
    expected = standard_state_dict_shapes()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    wrong = sorted(k for k in expected if k in state_dict and tuple(state_dict[k].shape) != expected[k])
    if missing or unexpected or wrong:
        raise _refusal(
            f"{path} is not an FID Inception-v3 state dict: {len(missing)} missing keys "
            f"{missing[:3]}, {len(unexpected)} unexpected {unexpected[:3]}, wrong shapes {wrong[:3]}."
        )
    return state_dict


def load_fid_inception(
    weights_path: str | os.PathLike | None = None,
    *,
    download: bool = True,
    allow_nonstandard_weights: bool = False,
    device: str | torch.device = "cpu",
) -> tuple[FIDInceptionV3, WeightsInfo]:
    """Builds :class:`FIDInceptionV3` in eval mode with verified weights.

    Args:
        weights_path: the ``.pth`` file; default ``$SAGAN_INCEPTION_WEIGHTS`` or the torch hub cache.
        download: download into the hub cache when no file is found.
        allow_nonstandard_weights: TESTS ONLY. Accept a state dict of the right layout whose hash is
            not the standard one; results are then marked ``standard=False`` and reports refuse to
            call them FID or IS.
        device: where to put the network.

    Raises:
        InceptionWeightsError: no file, wrong hash (unless allowed), or a wrong layout.
    """
    path = resolve_weights_path(weights_path, download=download)
    sha256 = sha256_of_file(path)
    standard = sha256 == WEIGHTS_SHA256
    if not standard and not allow_nonstandard_weights:
        raise _refusal(
            f"{path} is not the standard FID Inception weights file: its SHA-256 is {sha256}, "
            f"expected {WEIGHTS_SHA256}."
        )
    state_dict = _check_state_dict(torch.load(path, map_location="cpu", weights_only=True), path)
    network = FIDInceptionV3()
    network.load_state_dict(state_dict, strict=True)
    network.eval().requires_grad_(False).to(device)
    return network, WeightsInfo(path=str(path), sha256=sha256, standard=standard)

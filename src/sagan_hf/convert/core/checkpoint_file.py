"""Reading a published `.pth` file without running its pickle: `torch.load(weights_only=True)`.

Both StudioGAN and MMGeneration pickle numpy float64 scalars next to their tensors (best FID, best
scores). `weights_only=True` refuses them unless allow-listed; the list below is the smallest that
reads them: the scalar reconstructor under both of its paths (`numpy.core.multiarray.scalar` in
pickles written by numpy 1, `numpy._core.multiarray.scalar` by numpy 2), `numpy.dtype`, and the dtype
classes numpy 2 builds for the scalars these files hold. Nothing else becomes loadable.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

try:
    from numpy._core.multiarray import scalar as _SCALAR  # numpy >= 2
except ImportError:  # numpy 1
    from numpy.core.multiarray import scalar as _SCALAR

NUMPY_SCALAR_GLOBALS = [
    (_SCALAR, "numpy._core.multiarray.scalar"),
    (_SCALAR, "numpy.core.multiarray.scalar"),
    np.dtype,
    np.dtypes.Float64DType,
    np.dtypes.Float32DType,
    np.dtypes.Int64DType,
]


def _reason(error: Exception) -> str:
    """The informative line of torch's error (its first lines are generic advice)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if "WeightsUnpickler error:" in line:
            rest = line.split("WeightsUnpickler error:", 1)[1].strip() or " ".join(lines[index + 1:index + 2])
            return rest.split(". Please", 1)[0].strip()
    return lines[0] if lines else type(error).__name__


def load_checkpoint_file(path: str | Path, expected: str, extra_globals=()):
    """`torch.load(path, weights_only=True)` with numpy scalars allowed; a ValueError if it cannot be read.

    Args:
        path: the file.
        expected: what the file should be, for the error ("a StudioGAN generator file (model=G-...pth)").
        extra_globals: further classes the format needs (BigGAN-PyTorch's config holds `nn.ReLU`).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} does not exist or is not a file; expected {expected}")
    try:
        with torch.serialization.safe_globals([*NUMPY_SCALAR_GLOBALS, *extra_globals]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # the unpickler raises many types; all mean "not a loadable checkpoint"
        raise ValueError(
            f"Could not read {path} with torch.load(weights_only=True) ({_reason(error)}); expected {expected}"
        ) from error


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file (published files carry its first 8 digits in their names)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()

"""Image data for training, reference statistics and the demo: sources, decode, order, batching.

`ImageBatchStream(options, resolution=..., batch_size=...)` reads any `datasets` image stream (a Hub
id, local parquet / webdataset / image folders, or the built-in `shapes` set) as endless, seeded,
rank-sharded, resumable batches. `DataOptions` is the one description of where the data comes from;
training and evaluation both pass it.
"""

from __future__ import annotations

import importlib

_PUBLIC = {"DataOptions": "options", "ImageBatchStream": "stream"}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    # On first use (PEP 562): the options alone (for `--help` and argument checks) need neither torch nor
    # datasets, which the stream imports.
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_PUBLIC[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))

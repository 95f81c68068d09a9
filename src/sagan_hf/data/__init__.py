"""Image data for training, reference statistics and the demo: sources, decode, order, batching.

`ImageBatchStream(options, resolution=..., batch_size=...)` reads any `datasets` image stream (a Hub
id, local parquet / webdataset / image folders, or the built-in `shapes` set) as endless, seeded,
rank-sharded, resumable batches. `DataOptions` is the one description of where the data comes from;
training and evaluation both pass it.
"""

from __future__ import annotations

from ..lazy_exports import lazy_exports

# On first use: the options alone (for `--help` and argument checks) need neither torch nor datasets.
_EXPORTS = {"DataOptions": "options", "ImageBatchStream": "stream"}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

"""Image data for training, reference statistics and the demo: sources, decode, order, batching.

`ImageBatchStream(options, resolution=..., batch_size=...)` reads any `datasets` image stream (a Hub
id, local parquet / webdataset / image folders, or the built-in `shapes` set) as endless, seeded,
rank-sharded, resumable batches. `DataOptions` is the one description of where the data comes from;
training and evaluation both pass it.
"""

from .options import DataOptions
from .stream import ImageBatchStream

__all__ = ["DataOptions", "ImageBatchStream"]

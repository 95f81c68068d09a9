"""Open an ImageBatchStream from flat keyword arguments, as the data tests write them."""

from __future__ import annotations

import dataclasses

from sagan_hf.data import DataOptions, ImageBatchStream

RENAMED = {"num_workers": "dataloader_num_workers", "split": "dataset_split"}
DATA_FIELDS = {field.name for field in dataclasses.fields(DataOptions)}


def open_stream(**settings) -> ImageBatchStream:
    """`DataOptions` fields (and their short names) go into the options, the rest to the stream."""
    options = {}
    for name in list(settings):
        field = RENAMED.get(name, name)
        if field in DATA_FIELDS:
            options[field] = settings.pop(name)
    return ImageBatchStream(DataOptions(**options), **settings)

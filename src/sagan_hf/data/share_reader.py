"""Reading a list of shares one after another inside one DataLoader worker (or the main process).

It stands where `DecodedBatches` normally has the rank's `datasets` stream, with the same three
things that class uses: iteration, and `state_dict()` after each batch, here
`{"share": index, "state": ..., "read": n}` (see `Share.workers`).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from .shares import Share, ShareBuilder


class ShareReader:
    def __init__(self, builder: ShareBuilder, shares: list[Share]):
        self.builder = builder
        self.shares = shares
        self._position: dict | None = None
        self._live = None  # the datasets stream of the share being read (its state moves on)

    @staticmethod
    def _worker() -> int:
        info = torch.utils.data.get_worker_info()
        return 0 if info is None else info.id

    def __iter__(self) -> Iterator[dict]:
        worker = self._worker()
        for index, share in enumerate(self.shares):
            progress = share.progress(worker)
            if progress.get("done"):
                continue
            dataset = self.builder.build(share.world_size, share.rank, share.buffer_input_shards)
            dataset.set_epoch(share.epoch)
            if progress["state"] is not None:
                dataset.load_state_dict(progress["state"])
            already_read = progress["read"]
            self._live = dataset if share.stride == 1 else None
            self._position = {"share": index, "state": progress["state"], "read": already_read}
            read = 0
            for example in dataset:
                read += 1
                if read <= already_read:
                    continue  # read (and kept or left to the others) before the checkpoint
                self._position["read"] = read
                if (read - 1 - share.offset) % share.stride == 0:
                    yield example

    def state_dict(self) -> dict:
        """Where this worker is: its share, and either the live state (one reader) or base state + count."""
        if self._live is not None:
            return {"share": self._position["share"], "state": self._live.state_dict(), "read": 0}
        return dict(self._position)

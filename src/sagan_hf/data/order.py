"""Keeping the order of DataLoader workers' batches identical across a resume.

A torch DataLoader over an IterableDataset hands out batches round-robin over its workers, always
starting with worker 0, and skips a worker once it is exhausted. A run that stopped after a batch
of worker k must continue with worker k+1; a resumed DataLoader starts with worker 0 again. This
buffer re-emits the resumed DataLoader's batches in the original order. It needs no knowledge of
when a worker runs dry: between two batches of one worker, the round-robin delivers one batch of
every worker still active, so a worker missing from that interval is exhausted.
"""

from __future__ import annotations

from collections import deque
from typing import Any


class WorkerRoundRobin:
    """Re-orders ``(worker, item)`` pairs into round-robin order starting at ``first_worker``."""

    def __init__(self, num_workers: int, first_worker: int = 0):
        self.num_workers = max(1, num_workers)
        self.expected = first_worker % self.num_workers
        self._queues: list[deque] = [deque() for _ in range(self.num_workers)]
        self._exhausted: set[int] = set()
        self._seen_since: dict[int, set[int]] = {}  # worker -> workers delivered since its last batch

    def push(self, worker: int, item: Any) -> list[Any]:
        """Take the DataLoader's next batch; returns the batches now ready, in order."""
        if worker in self._seen_since:
            missing = set(range(self.num_workers)) - self._seen_since[worker] - {worker}
            self._exhausted |= missing
        for seen in self._seen_since.values():
            seen.add(worker)
        self._seen_since[worker] = set()
        self._queues[worker].append(item)
        return self._drain()

    def finish(self) -> list[Any]:
        """The DataLoader is done: every worker is exhausted; returns what is still buffered."""
        self._exhausted = set(range(self.num_workers))
        return self._drain()

    def _drain(self) -> list[Any]:
        ready = []
        skipped_in_a_row = 0
        while skipped_in_a_row < self.num_workers:
            queue = self._queues[self.expected]
            if queue:
                ready.append(queue.popleft())
                skipped_in_a_row = 0
            elif self.expected in self._exhausted:
                skipped_in_a_row += 1
            else:
                break  # wait for this worker's next batch
            self.expected = (self.expected + 1) % self.num_workers
        return ready

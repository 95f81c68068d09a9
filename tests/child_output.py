"""Reading a child process's output while it runs, so that a full pipe can never block it (or the test)."""

from __future__ import annotations

import re
import threading
import time


class ChildOutput:
    """Drains a binary pipe in a thread; `wait_for(pattern)` polls what has arrived so far."""

    def __init__(self, pipe):
        self._pipe = pipe
        self._chunks: list[bytes] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        for chunk in iter(lambda: self._pipe.read1(1 << 16), b""):
            with self._lock:
                self._chunks.append(chunk)
        self._pipe.close()

    @property
    def text(self) -> str:
        with self._lock:
            return b"".join(self._chunks).decode("utf-8", errors="replace")

    def wait_for(self, pattern: str, timeout: float, alive=lambda: True) -> re.Match:
        """The first match of `pattern` in the output; fails after `timeout` s or when `alive()` turns False."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.text)
            if match:
                return match
            assert alive(), f"the child ended before printing {pattern!r}:\n{self.text[-3000:]}"
            assert time.monotonic() < deadline, f"no {pattern!r} within {timeout} s:\n{self.text[-3000:]}"
            time.sleep(0.05)

    def wait_closed(self, timeout: float) -> str:
        """Everything, once every writer closed the pipe (the child and whatever inherited it ended)."""
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"the pipe was still open after {timeout} s:\n{self.text[-3000:]}"
        return self.text

"""Helpers for the explorer tests: a small explorer, serving it in this process, waiting for a subprocess."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.request

from hub_fixtures import tiny_pipeline, train_steps

SHAPES = {0: "circle", 1: "square", 2: "triangle", 3: "plus", 4: "ring"}


def small_pipeline(id2label: dict | None = SHAPES):
    """The 32 px, 5-class test pipeline after two GAN steps (class tables differ), named like `shapes`,
    with attention gamma 0.5."""
    from sagan_hf import SAGANPipeline

    pipe = tiny_pipeline()
    train_steps(pipe, steps=2)
    for layer in pipe.generator.attentions.values():
        layer.gamma.data.fill_(0.5)
    return SAGANPipeline(generator=pipe.generator, discriminator=pipe.discriminator, id2label=id2label)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def served(explorer):
    """The explorer's page served by this process; yields its URL."""
    from sagan_hf.app.ui import build_ui

    page = build_ui(explorer)
    _, url, _ = page.launch(prevent_thread_lock=True, server_port=free_port(), quiet=True)
    try:
        yield url
    finally:
        page.close()


def wait_until_served(url: str, process: subprocess.Popen, timeout: float = 240.0) -> None:
    """Wait for `url` to answer; fail with the process's output if it exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the app exited with {process.returncode}:\n{process.stdout.read()}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        time.sleep(0.5)
    raise AssertionError(f"nothing served at {url} after {timeout:.0f} s")

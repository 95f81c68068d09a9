"""Test-session setup shared by every test module.

The Hugging Face libraries read their endpoint and cache locations when they are imported, so the
environment is fixed here, at conftest import time, before any test module imports them.
"""

import atexit
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_SESSION_DIR = Path(tempfile.mkdtemp(prefix="sagan_hf_tests_"))
atexit.register(shutil.rmtree, _SESSION_DIR, ignore_errors=True)

# The built-in shapes set and its classifier are built once per run, not once per pytest worker: the
# main process makes the folder and the workers (started after this import) inherit its path. Both are
# written to a temporary name and renamed, so two workers building them at once cannot see half of one.
_SHARED_CACHE_ENV = "SAGAN_HF_TESTS_SHARED_CACHE"
if not os.environ.get(_SHARED_CACHE_ENV):
    os.environ[_SHARED_CACHE_ENV] = str(_SESSION_DIR / "sagan_hf_cache")
HUB_PORT = _free_port()
HUB_ENDPOINT = f"http://127.0.0.1:{HUB_PORT}"

os.environ["HF_ENDPOINT"] = HUB_ENDPOINT  # never the real Hub: a loopback server the tests start
os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ["HF_HOME"] = str(_SESSION_DIR / "hf_home")
os.environ["HF_DATASETS_CACHE"] = str(_SESSION_DIR / "hf_datasets")
os.environ["SAGAN_HF_CACHE"] = os.environ[_SHARED_CACHE_ENV]
os.environ.pop("HF_TOKEN", None)
if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs two pytest workers on our 2-core machines: one thread each, since two OpenMP
    # threads per worker on a shared core spin-wait for each other (docs/training.md, CPU threads).
    os.environ["OMP_NUM_THREADS"] = "1"
else:
    os.environ.setdefault("OMP_NUM_THREADS", "2")

sys.path.insert(0, str(Path(__file__).parent))  # lets tests import helpers such as hub_server


@pytest.fixture(scope="session")
def hub_server():
    """A Hub-compatible HTTP server on loopback at HF_ENDPOINT, alive for the whole session."""
    from hub_server import LoopbackHubServer

    server = LoopbackHubServer(root=_SESSION_DIR / "hub_storage", port=HUB_PORT)
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _no_dataset_shutdown_sleep():
    """datasets sleeps 5 s whenever a shuffled parquet iterator closes; tests cannot afford that."""
    import datasets.config

    datasets.config.SLEEP_TIME_ON_THREADS_SHUTDOWN = 0
    yield


@pytest.fixture(autouse=True)
def _fresh_accelerate_state():
    """Accelerate keeps process-wide singleton state (mixed precision, device, gradient state): a test that
    builds a bf16 Accelerator would otherwise silently make the next test's Accelerator bf16 too."""
    yield
    from accelerate.state import AcceleratorState, GradientState

    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()


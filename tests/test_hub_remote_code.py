"""Pushed repos carry their code: plain diffusers loads them without sagan-hf, with the same images.

The remote loads run against the loopback Hub, not a local folder (diffusers fetches a component's code
differently from a repo id), each in a fresh process whose `sitecustomize` makes `import sagan_hf` fail
and with its own HF_MODULES_CACHE and HF_HOME. They run the card's own snippet and command.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from hub_fixtures import assert_same_images, code_blocks, sample, tiny_pipeline, train_steps
from hub_server import LoopbackHubServer
from PIL import Image

import sagan_hf.models.modeling_sagan
import sagan_hf.pipelines.pipeline_sagan
from sagan_hf import SAGANDiscriminator, SAGANGenerator, SAGANPipeline
from sagan_hf.hub import push_pipeline_to_hub
from sagan_hf.hub.push import check_upload_files
from sagan_hf.hub.remote_code import save_remote_code_layout

TOKEN = LoopbackHubServer.VALID_TOKEN
REPO_ID = "tester/sagan-remote-code"
NAMES = {0: "circle", 1: "square", 2: "triangle", 3: "star", 4: "cross"}
SOURCES = {path.name: path for path in (Path(sagan_hf.pipelines.pipeline_sagan.__file__),
                                        Path(sagan_hf.models.modeling_sagan.__file__))}
CODE_FILES = {  # repo path -> the package's own source file
    "pipeline_sagan.py": SOURCES["pipeline_sagan.py"],
    "generator/modeling_sagan.py": SOURCES["modeling_sagan.py"],
    "discriminator/modeling_sagan.py": SOURCES["modeling_sagan.py"],
}
SUBPROCESS_TIMEOUT = 300

# Installed before anything else runs in the child process: sagan_hf cannot be imported there, as if
# it were not installed, and the child reports which sagan_hf modules it holds when it exits.
SITECUSTOMIZE = """
import atexit, json, os, sys


class BlockSaganHf:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "sagan_hf":
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
        return None


sys.meta_path.insert(0, BlockSaganHf())


@atexit.register
def _report():
    with open(os.environ["SAGAN_HF_TEST_REPORT"], "w") as report:
        json.dump(sorted(name for name in sys.modules if name.split(".")[0] == "sagan_hf"), report)
"""


@pytest.fixture(scope="module")
def named_pipeline():
    pipeline = tiny_pipeline(seed=21)
    train_steps(pipeline, steps=1, seed=21)
    return SAGANPipeline(generator=pipeline.generator, discriminator=pipeline.discriminator, id2label=NAMES)


@pytest.fixture(scope="module")
def pushed(hub_server, named_pipeline):
    commit = push_pipeline_to_hub(named_pipeline, REPO_ID, token=TOKEN, include_images=False)
    return commit.oid


@pytest.fixture(scope="module")
def card(pushed, tmp_path_factory):
    return Path(hf_hub_download(REPO_ID, "README.md", cache_dir=tmp_path_factory.mktemp("card"))).read_text()


@pytest.fixture(scope="module")
def expected(pushed, tmp_path_factory):
    """What sagan-hf's own loader gives for the card's call: images as uint8 arrays and as floats."""
    pipe = SAGANPipeline.from_pretrained(REPO_ID, cache_dir=tmp_path_factory.mktemp("expected"))
    labels = list(NAMES.values())[:4]
    threads = torch.get_num_threads()
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))  # the child processes' thread count
    try:
        floats = pipe(class_labels=labels, generator=torch.Generator().manual_seed(0), output_type="np").images
        pils = pipe(class_labels=labels, generator=torch.Generator().manual_seed(0)).images
    finally:
        torch.set_num_threads(threads)
    return {"floats": floats, "pngs": [np.asarray(image) for image in pils]}


class ChildProcess:
    """A fresh Python process in which `import sagan_hf` fails, with its own caches under `folder`."""

    def __init__(self, folder: Path, **environment: str):
        self.folder = folder
        self.work = folder / "work"
        self.work.mkdir(parents=True, exist_ok=True)
        (folder / "block").mkdir(exist_ok=True)
        (folder / "block" / "sitecustomize.py").write_text(SITECUSTOMIZE)
        self.report = folder / "sagan_hf_modules.json"
        self.env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HF_HUB_CACHE", "HF_HUB_OFFLINE")}
        self.env.update(PYTHONPATH=str(folder / "block"), HF_MODULES_CACHE=str(folder / "modules"),
                        HF_HOME=str(folder / "hf_home"), SAGAN_HF_TEST_REPORT=str(self.report),
                        OMP_NUM_THREADS=os.environ["OMP_NUM_THREADS"], **environment)

    def start(self, argv: list[str]) -> subprocess.Popen:
        return subprocess.Popen(argv, cwd=self.work, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)

    def python(self, code: str) -> subprocess.Popen:
        return self.start([sys.executable, "-c", code])

    def finish(self, process: subprocess.Popen) -> str:
        output, _ = process.communicate(timeout=SUBPROCESS_TIMEOUT)
        assert process.returncode == 0, output[-6000:]
        assert json.loads(self.report.read_text()) == [], "sagan_hf was imported in the child process"
        return output


def _pngs(paths) -> list[np.ndarray]:
    return [np.asarray(Image.open(path).convert("RGB")) for path in sorted(paths)]


def _assert_cached_code_is_the_package_source(modules_cache: Path) -> None:
    """The code diffusers ran came from the repo into the temporary HF_MODULES_CACHE: the package's files."""
    cached = [p for p in modules_cache.rglob("*.py") if p.name in SOURCES]
    assert {p.name for p in cached} == set(SOURCES), cached
    for path in cached:
        assert path.read_bytes() == SOURCES[path.name].read_bytes(), path


@pytest.fixture(scope="module")
def remote_runs(pushed, card, tmp_path_factory):
    """Runs, at the same time and each in a fresh process without sagan-hf: the card's diffusers snippet
    and its diffusers-cli command against the loopback Hub, and an offline load of a downloaded snapshot.
    Returns each child process with its output."""
    (snippet,) = code_blocks(card, "python", containing="DiffusionPipeline")
    api_code = textwrap.dedent("""
        try:
            import sagan_hf
        except ModuleNotFoundError:
            pass
        else:
            raise SystemExit("sagan_hf is importable in the child process")
    """) + snippet + textwrap.dedent(f"""
        import numpy as np
        print("pipeline class:", type(pipe).__module__, type(pipe).__name__)
        again = pipe(class_labels=output.class_labels, generator=torch.Generator().manual_seed(0), output_type="np")
        np.save("images.npy", again.images)
        # the remote class's own from_pretrained (sagan_hf's loader, running without sagan_hf)
        reloaded = type(pipe).from_pretrained({REPO_ID!r}, trust_remote_code=True, revision={pushed!r})
        np.save("reloaded.npy", reloaded(class_labels=output.class_labels, generator=torch.Generator().manual_seed(0),
                                         output_type="np").images)
    """)
    (command,) = code_blocks(card, "bash", containing="diffusers-cli")
    cli_argv = shlex.split(command.replace("\\\n", " "))
    assert cli_argv[0] == "diffusers-cli"
    cli_argv[0] = str(Path(sys.executable).with_name("diffusers-cli"))

    # Offline: the repo downloaded once (here), then loaded with no network at all: offline mode, and a
    # Hub address where nothing listens.
    downloads = tmp_path_factory.mktemp("first_download")
    snapshot_download(REPO_ID, revision=pushed, cache_dir=downloads)
    offline_code = textwrap.dedent(f"""
        import numpy as np, torch
        from diffusers import DiffusionPipeline
        from huggingface_hub import snapshot_download

        folder = snapshot_download({REPO_ID!r}, revision={pushed!r})
        pipe = DiffusionPipeline.from_pretrained(folder, trust_remote_code=True)
        images = pipe(class_labels={list(NAMES.values())[:4]!r}, generator=torch.Generator().manual_seed(0),
                      output_type="np").images
        np.save("offline.npy", images)
    """)

    children = {
        "api": (ChildProcess(tmp_path_factory.mktemp("diffusers_api")), api_code),
        "cli": (ChildProcess(tmp_path_factory.mktemp("diffusers_cli")), cli_argv),
        "offline": (ChildProcess(tmp_path_factory.mktemp("diffusers_offline"), HF_HUB_CACHE=str(downloads),
                                 HF_HUB_OFFLINE="1", HF_ENDPOINT="http://127.0.0.1:9"), offline_code),
    }
    started = {name: child.python(task) if isinstance(task, str) else child.start(task)
               for name, (child, task) in children.items()}  # all at once: most of their time is imports
    return {name: (child, child.finish(started[name])) for name, (child, _) in children.items()}


def test_the_repo_holds_the_package_files_byte_for_byte_and_a_model_index_naming_them(pushed, tmp_path):
    files = {s.rfilename for s in HfApi().model_info(REPO_ID).siblings}
    assert {p for p in files if p.endswith(".py")} == set(CODE_FILES)
    folder = Path(snapshot_download(REPO_ID, revision=pushed, cache_dir=tmp_path))
    for path, source in CODE_FILES.items():
        assert (folder / path).read_bytes() == source.read_bytes(), path
    index = json.loads((folder / "model_index.json").read_text())
    assert index["_class_name"] == ["pipeline_sagan", "SAGANPipeline"]
    assert index["generator"] == ["modeling_sagan", "SAGANGenerator"]
    assert index["discriminator"] == ["modeling_sagan", "SAGANDiscriminator"]
    assert index["id2label"] == {str(k): v for k, v in NAMES.items()}


@pytest.mark.slow
def test_diffusion_pipeline_from_the_card_gives_the_same_images_without_sagan_hf(remote_runs, expected):
    child, output = remote_runs["api"]
    assert "pipeline class: diffusers_modules." in output and " SAGANPipeline" in output
    assert np.array_equal(np.load(child.work / "images.npy"), expected["floats"])
    assert np.array_equal(np.load(child.work / "reloaded.npy"), expected["floats"])
    pngs = _pngs(child.work.glob("sagan_sample_*.png"))
    assert len(pngs) == 4 and all(np.array_equal(a, b) for a, b in zip(pngs, expected["pngs"]))
    _assert_cached_code_is_the_package_source(child.folder / "modules")


def test_diffusers_cli_from_the_card_gives_the_same_images_without_sagan_hf(remote_runs, expected):
    child, output = remote_runs["cli"]
    assert "pipeline_class: SAGANPipeline" in output
    pngs = _pngs((child.work / "samples").glob("*.png"))
    assert len(pngs) == 4 and all(np.array_equal(a, b) for a, b in zip(pngs, expected["pngs"]))
    _assert_cached_code_is_the_package_source(child.folder / "modules")


def test_offline_after_a_first_download_as_the_card_says(remote_runs, expected):
    child, _ = remote_runs["offline"]
    assert np.array_equal(np.load(child.work / "offline.npy"), expected["floats"])
    _assert_cached_code_is_the_package_source(child.folder / "modules")


@pytest.mark.parametrize("layout", ["package", "remote code"])
@pytest.mark.parametrize("source", ["folder", "repo id"])
def test_sagan_pipeline_loads_both_layouts_with_the_package_classes(hub_server, named_pipeline, layout, source,
                                                                    tmp_path):
    folder = tmp_path / "saved"
    if layout == "package":
        named_pipeline.save_pretrained(folder)  # what the trainer writes, and older pushes uploaded
    else:
        save_remote_code_layout(named_pipeline, folder)
    location = str(folder)
    if source == "repo id":
        location = f"tester/sagan-layout-{layout.replace(' ', '-')}"
        api = HfApi(token=TOKEN)
        api.create_repo(location, exist_ok=True)
        api.upload_folder(repo_id=location, folder_path=folder)
    loaded = SAGANPipeline.from_pretrained(location, cache_dir=tmp_path / "cache")
    assert type(loaded) is SAGANPipeline and type(loaded.generator) is SAGANGenerator
    assert type(loaded.discriminator) is SAGANDiscriminator and not loaded.generator.training
    assert loaded.id2label == NAMES
    assert_same_images(sample(loaded), sample(named_pipeline))
    if source == "repo id":  # the repo's code files are not even downloaded
        assert not list((tmp_path / "cache").rglob("*.py"))


def test_sagan_pipeline_takes_loading_arguments_and_refuses_unknown_ones(named_pipeline, tmp_path):
    save_remote_code_layout(named_pipeline, tmp_path)
    half = SAGANPipeline.from_pretrained(tmp_path, dtype=torch.bfloat16, trust_remote_code=True)
    assert half.generator.dtype == torch.bfloat16
    empty_first = SAGANPipeline.from_pretrained(tmp_path, low_cpu_mem_usage=True)  # built on meta, then filled
    assert_same_images(sample(empty_first), sample(named_pipeline))
    given = SAGANPipeline.from_pretrained(tmp_path, discriminator=None)
    assert given.discriminator is None and given.id2label == NAMES
    with pytest.raises(ValueError, match=r"Unexpected from_pretrained argument\(s\) \['custom_flag'\]"):
        SAGANPipeline.from_pretrained(tmp_path, custom_flag=1)
    index = json.loads((tmp_path / "model_index.json").read_text())
    index["generator"] = ["evil_module", "SAGANGenerator"]
    (tmp_path / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(ValueError, match=r"names \['evil_module', 'SAGANGenerator'\] for the generator"):
        SAGANPipeline.from_pretrained(tmp_path)


def test_upload_check_accepts_exactly_the_package_code_files(named_pipeline, tmp_path):
    code_files = save_remote_code_layout(named_pipeline, tmp_path)
    assert set(code_files) == set(CODE_FILES)
    check_upload_files(tmp_path, code_files)  # the layout as written passes
    (tmp_path / "generator" / "helpers.py").write_text("print('hello')\n")
    (tmp_path / "generator" / "weights.bin").write_bytes(b"\x80\x04pickle")
    with pytest.raises(RuntimeError, match=r"generator/helpers\.py, generator/weights\.bin$"):
        check_upload_files(tmp_path, code_files)
    (tmp_path / "generator" / "helpers.py").unlink()
    (tmp_path / "generator" / "weights.bin").unlink()
    with open(tmp_path / "pipeline_sagan.py", "a") as handle:
        handle.write("\nimport os  # an edited copy\n")
    with pytest.raises(RuntimeError, match=r"pipeline_sagan\.py \(not the package's own file\)"):
        check_upload_files(tmp_path, code_files)


def test_only_sagan_pipelines_are_pushed_with_code(hub_server):
    other = types.SimpleNamespace(generator=None, discriminator=None)
    with pytest.raises(ValueError, match="Only SAGAN pipelines can be pushed with their code: the pipeline is a "
                                         "SimpleNamespace"):
        push_pipeline_to_hub(other, "tester/not-sagan", token=TOKEN)
    from huggingface_hub.errors import RepositoryNotFoundError

    with pytest.raises(RepositoryNotFoundError):  # refused before the repo was created
        HfApi().model_info("tester/not-sagan")


def test_a_pipeline_loaded_from_remote_code_is_pushed_again_with_the_package_files(pushed, named_pipeline, tmp_path):
    """diffusers re-saves such a pipeline with `diffusers_modules...` names and no code: the push fixes both."""
    from diffusers import DiffusionPipeline

    remote = DiffusionPipeline.from_pretrained(REPO_ID, trust_remote_code=True, cache_dir=tmp_path / "c1")
    assert type(remote).__module__.startswith("diffusers_modules.")
    repo_id = "tester/sagan-remote-code-again"
    commit = push_pipeline_to_hub(remote, repo_id, token=TOKEN, include_images=False, include_discriminator=False)
    folder = Path(snapshot_download(repo_id, revision=commit.oid, cache_dir=tmp_path / "c2"))
    index = json.loads((folder / "model_index.json").read_text())
    assert index["_class_name"] == ["pipeline_sagan", "SAGANPipeline"]
    assert index["generator"] == ["modeling_sagan", "SAGANGenerator"] and index["discriminator"] == [None, None]
    assert index["id2label"] == {str(k): v for k, v in NAMES.items()}  # kept without the discriminator too
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.py")) == [
        "generator/modeling_sagan.py", "pipeline_sagan.py"]
    for path in ("generator/modeling_sagan.py", "pipeline_sagan.py"):
        assert (folder / path).read_bytes() == CODE_FILES[path].read_bytes()
    again = SAGANPipeline.from_pretrained(repo_id, cache_dir=tmp_path / "c3")
    assert_same_images(sample(again), sample(named_pipeline))

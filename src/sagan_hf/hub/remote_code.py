"""The remote-code layout of a pushed repo: plain diffusers loads it with `trust_remote_code=True`.

    model_index.json              "_class_name": ["pipeline_sagan", "SAGANPipeline"],
                                  "generator": ["modeling_sagan", "SAGANGenerator"], ...
    pipeline_sagan.py             the package's pipeline file, byte for byte
    generator/modeling_sagan.py   the package's network file, byte for byte (likewise discriminator/)
    generator/config.json, generator/diffusion_pytorch_model.safetensors, ...

The code files are read from the installed package, never generated: each is one self-contained file
because diffusers fetches only the file a component names from a repo id and follows only one-level
relative imports. `SAGANPipeline.from_pretrained` reads this layout too, without running the repo's code.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from ..models import SAGANDiscriminator, SAGANGenerator
from ..pipelines import SAGANPipeline

COMPONENTS = ("generator", "discriminator")
_PACKAGE_CLASSES = {cls.__name__: cls for cls in (SAGANPipeline, SAGANGenerator, SAGANDiscriminator)}


def _module_name(cls: type) -> str:
    """The bare module name a repo gives the file that defines `cls` ("modeling_sagan")."""
    return cls.__module__.rpartition(".")[2]


# Where a repo keeps its code: the pipeline file at the root, the networks' file in each component folder.
CODE_FILE_PATTERNS = [f"{_module_name(SAGANPipeline)}.py", f"*/{_module_name(SAGANGenerator)}.py"]


def source_bytes(cls: type) -> bytes:
    """The installed source file that defines `cls`, byte for byte."""
    package, _, module = cls.__module__.rpartition(".")
    return resources.files(package).joinpath(f"{module}.py").read_bytes()


def _package_class(obj, role: str) -> type:
    """The package class of a pipeline or component, also for one loaded from a repo's remote code
    (its class then lives in a `diffusers_modules` copy of the same file and carries the same name)."""
    cls = _PACKAGE_CLASSES.get(type(obj).__name__)
    if cls is None:
        raise ValueError(
            f"Only SAGAN pipelines can be pushed with their code: the {role} is a {type(obj).__name__}, "
            f"expected one of {sorted(_PACKAGE_CLASSES)}"
        )
    return cls


def remote_code_files(pipeline) -> dict[str, bytes]:
    """Repo path -> bytes of every code file the repo of `pipeline` carries."""
    pipeline_class = _package_class(pipeline, "pipeline")
    files = {f"{_module_name(pipeline_class)}.py": source_bytes(pipeline_class)}
    for name in COMPONENTS:
        component = getattr(pipeline, name, None)
        if component is not None:
            component_class = _package_class(component, name)
            files[f"{name}/{_module_name(component_class)}.py"] = source_bytes(component_class)
    return files


def remote_code_model_index(pipeline, saved_index: dict) -> dict:
    """`model_index.json` naming the repo's own files instead of the package's module paths.

    `saved_index` is what `save_pretrained` wrote; its component entries name `sagan_hf.models...`
    (or `diffusers_modules...` for a pipeline that was itself loaded from remote code).
    """
    pipeline_class = _package_class(pipeline, "pipeline")
    index = dict(saved_index)
    index["_class_name"] = [_module_name(pipeline_class), pipeline_class.__name__]
    for name in COMPONENTS:
        component = getattr(pipeline, name, None)
        if component is None:
            index[name] = [None, None]
        else:
            component_class = _package_class(component, name)
            index[name] = [_module_name(component_class), component_class.__name__]
    return index


def save_remote_code_layout(pipeline, folder: str | Path) -> dict[str, bytes]:
    """Save `pipeline` (safetensors only) into `folder` in the remote-code layout.

    Returns the code files written (repo path -> bytes), the only `.py` files a push may upload.
    """
    folder = Path(folder)
    pipeline.save_pretrained(folder, safe_serialization=True)
    index_path = folder / "model_index.json"
    saved_index = json.loads(index_path.read_text(encoding="utf-8"))
    index = remote_code_model_index(pipeline, saved_index)
    index_path.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    files = remote_code_files(pipeline)
    for path, data in files.items():
        (folder / path).write_bytes(data)
    return files

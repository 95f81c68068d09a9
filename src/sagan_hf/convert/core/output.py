"""Writing a converted pipeline: safetensors weights, class names, and a record of the conversion.

`conversion.json` next to `model_index.json` says where the weights came from (project, licence, file
name and SHA-256, the published scores as reported by the source, the converter's version and options,
the sampling recipe); `sagan-hf push` turns it into the model card's "Converted from" section.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CONVERSION_FILE = "conversion.json"


def converter_version() -> str:
    from ... import __version__

    return f"sagan-hf {__version__}"


def conversion_record(
    *,
    project,
    files: list[dict[str, str]],
    options: dict[str, Any],
    sampling: dict[str, Any],
    published=None,
    checkpoint_notes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON-ready conversion record.

    Args:
        project: the `SourceProject`.
        files: the source files read, each {"role": "generator", "name": ..., "sha256": ...}.
        options: the converter options that shaped the result (architecture overrides, EMA, colours, ...).
        sampling: the recipe that reproduces the source's numbers with this pipeline.
        published: the `PublishedCheckpoint` the file was recognised as, if any.
        checkpoint_notes: values read from the file itself (training step, a best FID it recorded).
    """
    record = {
        "source": project.name,
        "source_url": project.url,
        "license": project.license,
        "files": files,
        "converter": converter_version(),
        "options": options,
        "sampling": sampling,
        "dataset": published.dataset if published is not None else None,
    }
    if published is not None:
        record["published"] = published.record()
    if checkpoint_notes:
        record["checkpoint_notes"] = checkpoint_notes
    return record


def build_pipeline(generator, discriminator, id2label: dict[int, str] | None):
    from ...pipelines import SAGANPipeline  # heavy import, only needed here

    return SAGANPipeline(generator=generator, discriminator=discriminator, id2label=id2label)


def save_converted_pipeline(pipeline, output_dir: str | Path, record: dict[str, Any]) -> Path:
    """`save_pretrained` as safetensors, plus `conversion.json`; returns the folder."""
    folder = Path(output_dir)
    pipeline.save_pretrained(folder, safe_serialization=True)
    (folder / CONVERSION_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return folder

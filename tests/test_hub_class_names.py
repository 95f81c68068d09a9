"""The dataset's class names travel with a trained model: saved pipeline, pushed repo and model card.

Each source of names gets a real training run (shapes-tiny nets, one step) on data written here:
a ClassLabel feature of parquet shards, the subfolders of an image folder, and classes.txt next to
webdataset shards whose labels are plain integers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from huggingface_hub import hf_hub_download
from hub_server import LoopbackHubServer
from test_data_shard_writers import write_image_folder, write_parquet_folder, write_webdataset_folder
from test_train_step import one_torch_thread, tiny_config  # noqa: F401 (fixture)

from sagan_hf import SAGANPipeline
from sagan_hf.hub import render_model_card
from sagan_hf.training.trainer import train

FOLDER_NAMES = ["apple", "banana", "cherry"]
TEXT_FILE_NAMES = ["red fox, Vulpes vulpes", "snowy owl", "sea otter", "fire salamander"]


def _write_data(source: str, folder: Path) -> list[str]:
    """Writes a small labelled data folder; returns the class names the trainer should find in it."""
    if source == "ClassLabel":
        write_parquet_folder(folder, num_images=12, num_shards=2, num_classes=3)
        return ["c0", "c1", "c2"]  # the writer's ClassLabel names
    if source == "image folder":
        write_image_folder(folder, {name: [4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3]
                                    for i, name in enumerate(FOLDER_NAMES)})
        return FOLDER_NAMES
    write_webdataset_folder(folder, num_images=12, num_shards=2, num_classes=4)
    (folder / "classes.txt").write_text("\n".join(TEXT_FILE_NAMES) + "\n", encoding="utf-8")
    return TEXT_FILE_NAMES


@pytest.mark.parametrize("source", ["ClassLabel", "image folder", "classes.txt"])
def test_the_trainer_saves_the_datasets_class_names_and_the_card_shows_them(source, tmp_path):
    names = _write_data(source, tmp_path / "data")
    out = tmp_path / "run"
    train(tiny_config(out, tmp_path / "data", max_train_steps=1, checkpointing_steps=1, validation_steps=1,
                      validation_images_per_class=1))

    pipe = SAGANPipeline.from_pretrained(out)
    assert pipe.id2label == dict(enumerate(names))
    record = json.loads((out / "train_config.json").read_text())
    assert record["class_names"] == names
    first = names[0].split(",")[0]
    assert pipe.get_label_ids([first]) == [0]
    assert pipe(class_labels=[first], output_type="pt").class_labels.tolist() == [0]

    card = str(render_model_card(pipe, "org/sagan-named", train_config=record))
    assert f"<summary>The {len(names)} classes</summary>" in card
    for index, name in enumerate(names):
        assert f"| {index} | {name} |" in card
    assert f'class_labels={json.dumps([n.split(",")[0] for n in names][:4])}' in card


def test_the_trainers_push_carries_the_names_in_the_remote_code_layout(hub_server, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", LoopbackHubServer.VALID_TOKEN)
    _write_data("classes.txt", tmp_path / "data")
    repo_id = "tester/sagan-trained-with-names"
    train(tiny_config(tmp_path / "run", tmp_path / "data", max_train_steps=1, checkpointing_steps=1,
                      validation_steps=1, validation_images_per_class=1, push_to_hub=True, hub_model_id=repo_id))

    def fetch(name: str) -> str:
        return Path(hf_hub_download(repo_id, name, cache_dir=tmp_path / "cache")).read_text(encoding="utf-8")

    index = json.loads(fetch("model_index.json"))
    assert index["_class_name"] == ["pipeline_sagan", "SAGANPipeline"]
    assert index["generator"] == ["modeling_sagan", "SAGANGenerator"]
    assert index["id2label"] == {str(i): name for i, name in enumerate(TEXT_FILE_NAMES)}
    assert "def from_pretrained" in fetch("pipeline_sagan.py") and "class SAGANGenerator" in fetch(
        "generator/modeling_sagan.py")
    card = fetch("README.md")
    assert "| 0 | red fox, Vulpes vulpes |" in card and "| 3 | fire salamander |" in card
    loaded = SAGANPipeline.from_pretrained(repo_id, cache_dir=tmp_path / "cache")
    assert loaded.get_label_ids(["Vulpes vulpes", "sea otter"]) == [0, 2]

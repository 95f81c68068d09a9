"""Class names: id2label saved with the pipeline, get_label_ids, names in class_labels, clear errors."""

import json
import logging

import pytest
import torch

from sagan_hf import SAGANGenerator, SAGANPipeline

NAMES = {0: "tench, Tinca tinca", 1: "goldfish", 2: "great white shark", 3: "tiger shark", 4: "hammerhead"}


@pytest.fixture(scope="module")
def named_pipe():
    torch.manual_seed(0)
    generator = SAGANGenerator(sample_size=32, num_classes=5, ch=8, z_dim=16, attention_resolutions=(16,))
    return SAGANPipeline(generator=generator, id2label=NAMES)


def test_names_and_synonyms_map_to_indices(named_pipe):
    assert named_pipe.get_label_ids(["goldfish", "Tinca tinca", "tench"]) == [1, 0, 0]
    assert named_pipe.get_label_ids("hammerhead") == [4]
    assert named_pipe.id2label == NAMES


def test_names_in_class_labels_give_the_same_images_as_indices(named_pipe):
    by_name = named_pipe(class_labels=["goldfish", "hammerhead"], generator=torch.Generator().manual_seed(3),
                         output_type="pt")
    by_index = named_pipe(class_labels=[1, 4], generator=torch.Generator().manual_seed(3), output_type="pt")
    assert by_name.class_labels.tolist() == [1, 4]
    assert torch.equal(by_name.images, by_index.images)
    mixed = named_pipe(class_labels=["goldfish", 4], generator=torch.Generator().manual_seed(3), output_type="pt")
    assert torch.equal(mixed.images, by_index.images)
    single = named_pipe(class_labels="tiger shark", generator=torch.Generator().manual_seed(1))
    assert single.class_labels.tolist() == [3]


def test_an_unknown_name_suggests_the_closest(named_pipe):
    with pytest.raises(ValueError, match=r"'gold fish' \(did you mean 'goldfish'"):
        named_pipe.get_label_ids(["gold fish"])
    with pytest.raises(ValueError, match="Unknown class name"):
        named_pipe(class_labels=["zebra"])


def test_id2label_is_saved_in_model_index_and_reloaded(named_pipe, tmp_path, caplog):
    named_pipe.save_pretrained(tmp_path)
    index = json.loads((tmp_path / "model_index.json").read_text())
    assert index["id2label"] == {str(k): v for k, v in NAMES.items()}
    with caplog.at_level(logging.WARNING):
        reloaded = SAGANPipeline.from_pretrained(tmp_path)
    assert reloaded.id2label == NAMES and reloaded.get_label_ids("goldfish") == [1]
    # JSON keys are strings: the loader's type check of id2label must accept them without a warning
    assert not [record for record in caplog.records if "id2label" in record.getMessage()]


def test_pipelines_without_names_refuse_names_and_bad_tables_are_refused(named_pipe):
    plain = SAGANPipeline(generator=named_pipe.generator)
    assert plain.id2label is None
    with pytest.raises(ValueError, match="carries no class names"):
        plain(class_labels=["goldfish"])
    with pytest.raises(ValueError, match="name each of the generator's 5 classes"):
        SAGANPipeline(generator=named_pipe.generator, id2label={0: "a", 1: "b"})
    with pytest.raises(ValueError, match="keys must be class indices"):
        SAGANPipeline(generator=named_pipe.generator, id2label={"x": "a"})

"""TrainDataStream over webdataset tars and image folders: builder detection, columns, classes."""

from __future__ import annotations

import pytest
import torch

from streams import open_stream
from sagan_hf.data.sources import detect_local_builder
from test_data_shard_writers import (
    encode,
    id_image,
    ids_of,
    label_of,
    write_image_folder,
    write_parquet_folder,
    write_webdataset_folder,
)


def one_pass(data):
    return list(data.iter_one_pass())


def test_builder_is_picked_from_the_files(tmp_path):
    assert detect_local_builder(write_parquet_folder(tmp_path / "a", 4, 1)) == "parquet"
    assert detect_local_builder(write_webdataset_folder(tmp_path / "b", 4, 1)) == "webdataset"
    assert detect_local_builder(write_image_folder(tmp_path / "c", {"x": [1]})) == "imagefolder"


def test_webdataset_tars_give_images_and_cls_labels(tmp_path):
    folder = write_webdataset_folder(tmp_path / "wds", num_images=30, num_shards=2, num_classes=4)
    data = open_stream(train_data_dir=str(folder), resolution=8, batch_size=7, shuffle_buffer_size=0)
    assert (data.image_column, data.label_column) == ("jpg", "cls")
    assert data.num_classes == 4 and data.class_names == ["k0", "k1", "k2", "k3"]
    batches = one_pass(data)
    pixels = torch.cat([b["pixel_values"] for b in batches])
    labels = torch.cat([b["class_labels"] for b in batches])
    assert pixels.shape == (30, 3, 8, 8) and pixels.dtype == torch.float32
    assert pixels.min() >= -1 and pixels.max() <= 1
    # Without a shuffle the tars are read in order, so example k is image k; JPEG is lossy, so its
    # coded id is only approximately k.
    assert labels.tolist() == [label_of(i, 4) for i in range(30)]
    red = ((pixels[:, 0].mean(dim=(1, 2)) + 1) * 127.5).tolist()
    assert all(abs(r - i) <= 6 for i, r in enumerate(red)), red
    assert data.skipped_images == 0


def test_webdataset_without_class_count_asks_for_one(tmp_path):
    folder = write_webdataset_folder(tmp_path / "wds", num_images=6, num_shards=1, with_class_file=False)
    with pytest.raises(ValueError, match="num_classes"):
        open_stream(train_data_dir=str(folder), resolution=8, batch_size=2)
    data = open_stream(train_data_dir=str(folder), resolution=8, batch_size=2, num_classes=4)
    assert data.num_classes == 4 and data.class_names is None
    assert sum(b["pixel_values"].shape[0] for b in one_pass(data)) == 6


def test_image_folder_labels_come_from_class_subfolders(tmp_path):
    folder = write_image_folder(tmp_path / "imgs", {"cat": [1, 2, 3], "dog": [10, 11], "fox": [20]})
    data = open_stream(train_data_dir=str(folder), resolution=6, batch_size=4, shuffle_buffer_size=0)
    assert data.num_classes == 3 and data.class_names == ["cat", "dog", "fox"]
    pairs = {i: int(l) for b in one_pass(data) for i, l in zip(ids_of(b["pixel_values"]), b["class_labels"])}
    assert pairs == {1: 0, 2: 0, 3: 0, 10: 1, 11: 1, 20: 2}


def test_given_columns_are_read_and_a_parquet_set_without_labels_is_unconditional(tmp_path):
    import datasets

    # Two image columns and two label columns: the given ones must be the ones read.
    features = datasets.Features({
        "thumb": datasets.Image(), "photo": datasets.Image(),
        "label": datasets.ClassLabel(names=["a", "b", "c"]), "parity": datasets.Value("int64"),
    })
    rows = {
        "thumb": [{"bytes": encode(id_image(0), "PNG"), "path": None}] * 9,
        "photo": [{"bytes": encode(id_image(i), "PNG"), "path": None} for i in range(9)],
        "label": [label_of(i, 3) for i in range(9)],
        "parity": [i % 2 for i in range(9)],
    }
    (tmp_path / "pq").mkdir()
    datasets.Dataset.from_dict(rows, features=features).to_parquet(str(tmp_path / "pq" / "train.parquet"))
    settings = dict(train_data_dir=str(tmp_path / "pq"), resolution=8, batch_size=9, shuffle_buffer_size=0)
    given = open_stream(image_column="photo", label_column="parity", num_classes=2, **settings)
    (batch,) = one_pass(given)
    assert ids_of(batch["pixel_values"]) == list(range(9))
    assert batch["class_labels"].tolist() == [i % 2 for i in range(9)] and given.num_classes == 2
    detected = open_stream(**settings)  # the first Image feature and the ClassLabel feature
    (batch,) = one_pass(detected)
    assert (detected.image_column, detected.label_column, detected.num_classes) == ("thumb", "label", 3)
    assert ids_of(batch["pixel_values"]) == [0] * 9 and batch["class_labels"].tolist() == rows["label"]
    with pytest.raises(ValueError, match="'cls' is not in the dataset"):
        open_stream(label_column="cls", **settings)

    # No label column at all: an unconditional set, every label 0, every image kept.
    only_images = datasets.Features({"photo": datasets.Image()})
    unlabelled = datasets.Dataset.from_dict({"photo": rows["photo"]}, features=only_images)
    (tmp_path / "flat").mkdir()
    unlabelled.to_parquet(str(tmp_path / "flat" / "train.parquet"))
    data = open_stream(**(settings | {"train_data_dir": str(tmp_path / "flat")}))
    assert (data.label_column, data.num_classes, data.class_names) == (None, 0, None)
    (batch,) = one_pass(data)
    assert batch["class_labels"].tolist() == [0] * 9 and ids_of(batch["pixel_values"]) == list(range(9))


def test_unlabelled_images_give_zero_classes_and_zero_labels(tmp_path):
    folder = tmp_path / "flat"
    folder.mkdir()
    for i in range(5):
        id_image(i).save(folder / f"{i}.png")
    data = open_stream(train_data_dir=str(folder), resolution=8, batch_size=5, shuffle_buffer_size=0)
    assert data.num_classes == 0 and data.class_names is None
    (batch,) = one_pass(data)
    assert batch["class_labels"].tolist() == [0] * 5
    assert sorted(ids_of(batch["pixel_values"])) == list(range(5))


@pytest.mark.parametrize(
    "features, expected",
    [
        ({"image": "Image", "label": "ClassLabel"}, ("image", "label")),  # ILSVRC/imagenet-1k
        ({"jpg": "Image", "cls": "int64", "__key__": "string"}, ("jpg", "cls")),  # timm wds
        ({"img": "Image", "fine_label": "ClassLabel", "coarse_label": "ClassLabel"}, ("img", "fine_label")),
        ({"png": "binary", "labels": "int64"}, ("png", "labels")),  # no Image feature: by name
        ({"Image": "Image", "caption": "string"}, ("Image", None)),  # unlabelled
    ],
)
def test_columns_are_detected_from_features_and_usual_names(features, expected):
    import datasets

    from sagan_hf.data.sources import detect_columns

    kinds = {
        "Image": lambda: datasets.Image(),
        "ClassLabel": lambda: datasets.ClassLabel(names=["a", "b"]),
    }
    built = datasets.Features(
        {name: kinds[kind]() if kind in kinds else datasets.Value(kind) for name, kind in features.items()}
    )
    assert detect_columns(built, list(built), None, None) == expected


def test_labels_outside_the_class_range_raise_a_clear_error(tmp_path):
    folder = write_webdataset_folder(tmp_path / "wds", num_images=6, num_shards=1, num_classes=4)
    data = open_stream(train_data_dir=str(folder), resolution=8, batch_size=2, num_classes=2)
    assert data.num_classes == 2  # the given count wins over classes.txt
    with pytest.raises(ValueError, match=r"outside \[0, 2\)"):
        list(data.iter_one_pass())

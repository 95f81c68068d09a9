"""The rendered model card: metadata, sections from the training config and eval report, images, snippet."""

from __future__ import annotations

import json

import pytest
import yaml
from hub_fixtures import NUM_CLASSES, code_blocks, python_blocks, tiny_pipeline
from hub_server import LoopbackHubServer

from sagan_hf import SAGANGenerator, SAGANPipeline
from sagan_hf.hub import load_json_report, push_pipeline_to_hub, render_model_card
from sagan_hf.hub.card_images import save_card_images

TRAIN_CONFIG = {
    "dataset_name": "ILSVRC/imagenet-1k",
    "resolution": 32,
    "train_batch_size": 64,
    "num_processes": 4,
    "gradient_accumulation_steps": 2,
    "max_train_steps": 1000000,
    "global_step": 25000,
    "learning_rate_g": 1e-4,
    "learning_rate_d": 4e-4,
    "adam_beta1": 0.0,
    "adam_beta2": 0.999,
    "n_dis": 1,
    "ema_decay": 0.9999,
    "mixed_precision": "bf16",
    "hardware": "4x NVIDIA A100",
    "train_time_seconds": 93784.0,
    "hub_token": "hf_do_not_publish_me",
    "output_dir": "/home/someone/runs/x",
    "lr_warmup_steps": 0,
}
EVAL_REPORT = {
    "metrics": {"fid": 18.65, "is_mean": 52.52, "is_std": 0.61, "kid_mean": 0.0121, "kid_std": 0.0003},
    "num_samples": 50000,
    "inception_weights_sha256": "6726825d" + "0" * 56,
    "resize_mode": "tf_bilinear",
    "reference": "ImageNet train, 128 px, 1.28M images",
    "seed": 0,
    "truncation": None,
    "versions": {"torch": "2.13", "sagan-hf": "0.1.0"},
}


def _metadata(card) -> dict:
    text = str(card)
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


@pytest.fixture(scope="module")
def pipeline():
    return tiny_pipeline(seed=0)


def test_metadata_of_a_trained_and_evaluated_model(pipeline):
    card = render_model_card(pipeline, "org/sagan-tiny", train_config=TRAIN_CONFIG, eval_report=EVAL_REPORT)
    meta = _metadata(card)
    assert meta["library_name"] == "sagan-hf"  # not diffusers: its Hub snippet would not work
    assert meta["pipeline_tag"] == "unconditional-image-generation"
    assert meta["license"] == "apache-2.0"
    assert {"gan", "sagan", "self-attention", "class-conditional"} <= set(meta["tags"])
    assert meta["datasets"] == ["ILSVRC/imagenet-1k"]
    (entry,) = meta["model-index"]
    assert entry["name"] == "sagan-tiny"
    metrics = {m["type"]: m["value"] for m in entry["results"][0]["metrics"]}
    assert metrics["fid"] == pytest.approx(18.65) and metrics["inception_score"] == pytest.approx(52.52)
    assert entry["results"][0]["dataset"]["type"] == "ILSVRC/imagenet-1k"


def test_body_carries_recipe_evaluation_limitations_and_citation(pipeline):
    card = render_model_card(pipeline, "org/sagan-tiny", train_config=TRAIN_CONFIG, eval_report=EVAL_REPORT)
    text = str(card)
    # recipe, with derived values
    assert "| Total batch size | 512 |" in text  # 64 per process x 4 processes x 2 accumulation steps
    assert "| Learning rate, generator | 0.0001 |" in text
    assert "| Learning rate, discriminator | 0.0004 |" in text
    assert "| Steps trained | 25,000 |" in text and "| EMA decay of the generator weights | 0.9999 |" in text
    assert "| Training time | 26 h 03 min |" in text and "4x NVIDIA A100" in text
    assert "`lr_warmup_steps`" in text  # other arguments are listed too ...
    assert "hf_do_not_publish_me" not in text and "hub_token" not in text  # ... but never secrets
    assert "/home/someone" not in text
    # evaluation with its protocol
    assert "| FID | 18.65 |" in text and "| Inception Score | 52.52 ± 0.61 |" in text
    assert "50,000" in text and "6726825d" in text and "tf_bilinear" in text and "Not evaluated" not in text
    # architecture facts from the pipeline itself
    g_params = sum(p.numel() for p in pipeline.generator.parameters())
    assert f"{g_params:,}" in text and "16x16" in text
    assert "Inherited from ImageNet" in text
    assert "@inproceedings{zhang2019sagan" in text and "1805.08318" in text


def test_card_without_training_record_or_evaluation_says_so(pipeline):
    card = render_model_card(pipeline, "org/sagan-bare")
    meta = _metadata(card)
    assert "model-index" not in meta and "datasets" not in meta
    text = str(card)
    assert "**Not evaluated.**" in text
    assert "No training record was published" in text
    assert "Inherited from ImageNet" not in text and "not recorded" in text


def test_unconditional_model_card(tmp_path):
    generator = SAGANGenerator(sample_size=32, num_classes=0, ch=8, z_dim=16, attention_resolutions=())
    pipe = SAGANPipeline(generator=generator, discriminator=None)
    images = save_card_images(pipe, tmp_path)
    assert "attention_image" not in images  # no attention layer, no attention figure
    card = render_model_card(pipe, "org/sagan-uncond", train_config={"dataset_name": "/data/my faces"},
                             **images)
    meta = _metadata(card)
    assert "class-conditional" not in meta["tags"] and "datasets" not in meta
    text = str(card)
    assert "batch_size=4" in text and "class_labels" not in python_blocks(text)[0]
    assert "local data (my faces)" in text and "/data/my faces" not in text
    assert "Discriminator:** not included" in text


def test_card_images(pipeline, tmp_path):
    import PIL.Image

    found = save_card_images(pipeline, tmp_path)
    assert found["sample_image"] == "samples.png" and found["attention_image"] == "attention.png"
    grid = PIL.Image.open(tmp_path / "samples.png")
    # 2 rows x one column per class, 32 px cells upscaled 4x
    assert grid.size == (NUM_CLASSES * 32 * 4, 2 * 32 * 4)
    attention = PIL.Image.open(tmp_path / "attention.png")
    assert attention.width > attention.height > 0
    card = str(render_model_card(pipeline, "org/x", **found))
    assert "](samples.png)" in card and "](attention.png)" in card and "one column per class" in card


@pytest.mark.parametrize(
    "report, message",
    [
        ({"metrics": {}}, "non-empty 'metrics'"),
        ({"metrics": {"fid": "good"}}, "must be a number"),
        ({"metrics": {"fid": float("nan")}}, "not a finite number"),
    ],
)
def test_bad_evaluation_reports_are_rejected(pipeline, report, message):
    with pytest.raises(ValueError, match=message):
        render_model_card(pipeline, "org/x", eval_report=report)


def test_metrics_the_card_does_not_know_are_shown_but_not_indexed(pipeline):
    card = render_model_card(pipeline, "org/x", eval_report={"metrics": {"fid": 30.0, "fid_10k": 33.5}})
    assert "| fid_10k | 33.5 |" in str(card)
    metrics = _metadata(card)["model-index"][0]["results"][0]["metrics"]
    assert [m["type"] for m in metrics] == ["fid"]


def test_template_location_can_be_overridden(pipeline, tmp_path, monkeypatch):
    from sagan_hf.hub.model_card import template_path

    assert template_path().name == "sagan_model_card.md.j2"
    custom = tmp_path / "card.md.j2"
    custom.write_text("---\n{{ card_data }}\n---\nCustom card for {{ repo_id }}\n")
    monkeypatch.setenv("SAGAN_HF_MODEL_CARD_TEMPLATE", str(custom))
    card = render_model_card(pipeline, "org/custom")
    assert "Custom card for org/custom" in str(card) and _metadata(card)["library_name"] == "sagan-hf"
    monkeypatch.setenv("SAGAN_HF_MODEL_CARD_TEMPLATE", str(tmp_path / "missing.j2"))
    monkeypatch.setattr("sagan_hf.hub.model_card.TEMPLATE_NAME", "no_such_template.md.j2")
    with pytest.raises(FileNotFoundError, match="SAGAN_HF_MODEL_CARD_TEMPLATE"):
        template_path()


def test_load_json_report(tmp_path):
    good = tmp_path / "report.json"
    good.write_text(json.dumps(EVAL_REPORT))
    assert load_json_report(good, "Evaluation report")["num_samples"] == 50000
    with pytest.raises(ValueError, match="not found"):
        load_json_report(tmp_path / "missing.json", "Evaluation report")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_json_report(tmp_path / "bad.json", "Evaluation report")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="JSON object"):
        load_json_report(tmp_path / "list.json", "Training config")


def test_usage_snippet_from_the_card_runs(hub_server, tmp_path, monkeypatch):
    """Push, read the card back from the Hub, and run its Python snippet as a user would."""
    from huggingface_hub import hf_hub_download

    repo_id = "tester/sagan-card-snippet"
    push_pipeline_to_hub(tiny_pipeline(seed=7, with_discriminator=False), repo_id,
                         token=LoopbackHubServer.VALID_TOKEN, include_images=False)
    card = open(hf_hub_download(repo_id, "README.md", cache_dir=tmp_path / "c")).read()
    (snippet,) = code_blocks(card, "python", containing="from sagan_hf")  # diffusers' own: test_hub_remote_code
    assert f'SAGANPipeline.from_pretrained("{repo_id}")' in snippet
    assert "pip install sagan-hf" in card
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, "model_card_snippet", "exec"), {})
    saved = sorted(p.name for p in tmp_path.glob("sagan_sample_*.png"))
    assert saved == [f"sagan_sample_{i}.png" for i in range(4)]


NAMES = {0: "circle", 1: "square, box", 2: "tri|angle", 3: "it's", 4: "star"}


def test_card_shows_both_ways_to_load_and_the_risk_of_remote_code(pipeline):
    text = str(render_model_card(pipeline, "org/sagan-tiny"))
    (diffusers_snippet,) = code_blocks(text, "python", containing="DiffusionPipeline")
    assert 'DiffusionPipeline.from_pretrained("org/sagan-tiny", trust_remote_code=True, revision="main")' in (
        diffusers_snippet)
    assert "from sagan_hf" not in diffusers_snippet
    (package_snippet,) = code_blocks(text, "python", containing="from sagan_hf")
    assert 'SAGANPipeline.from_pretrained("org/sagan-tiny")' in package_snippet
    (command,) = code_blocks(text, "bash", containing="diffusers-cli")
    assert "run -m org/sagan-tiny --trust-remote-code --revision main --device-map cpu --seed 0" in command
    assert """--pipeline-kwargs '{"class_labels": [0, 1, 2, 3]}'""" in command
    # what trust_remote_code runs, and why to pin a revision
    assert "`trust_remote_code=True` runs that code on your\nmachine" in text
    for path in ("pipeline_sagan.py", "generator/modeling_sagan.py", "discriminator/modeling_sagan.py"):
        assert f"`{path}`" in text
    assert "pin the commit you read with `revision=`" in text
    assert "runs no code from this repository" in text and "pip install sagan-hf" in text
    assert "snapshot_download" in text and "local_files_only=True" in text  # offline use
    assert "does not know this pipeline class" not in text and "### Classes" not in text


def test_card_shows_class_names_and_uses_them_in_the_snippets(pipeline):
    named = SAGANPipeline(generator=pipeline.generator, discriminator=None, id2label=NAMES)
    text = str(render_model_card(named, "org/sagan-named"))
    assert "### Classes" in text and "<summary>The 5 classes</summary>" in text
    table = text.split("| Index | Name |\n|---|---|\n")[1].split("\n\n")[0]
    assert table.splitlines() == ["| 0 | circle |", "| 1 | square, box |", "| 2 | tri\\|angle |", "| 3 | it's |",
                                  "| 4 | star |"]  # "|" escaped: the table stays a table
    for block in code_blocks(text, "python", containing="class_labels="):
        assert """class_labels=["circle", "square", "tri|angle", "it's"]""" in block
    (command,) = code_blocks(text, "bash", containing="diffusers-cli")
    import shlex

    kwargs = shlex.split(command.replace("\\\n", " "))
    assert json.loads(kwargs[kwargs.index("--pipeline-kwargs") + 1]) == {
        "class_labels": ["circle", "square", "tri|angle", "it's"]}  # the shell quoting survives the quote


def test_class_names_shared_by_two_classes_fall_back_to_indices_in_the_snippets(pipeline):
    names = {0: "crane", 1: "crane", 2: "c", 3: "d", 4: "e"}  # ImageNet has two "crane" classes
    named = SAGANPipeline(generator=pipeline.generator, discriminator=None, id2label=names)
    text = str(render_model_card(named, "org/sagan-crane"))
    assert "class_labels=[0, 1, 2, 3]" in text and "| 1 | crane |" in text

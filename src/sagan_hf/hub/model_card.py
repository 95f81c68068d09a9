"""Model cards for SAGAN pipelines: Hub metadata plus a README rendered from a Jinja template.

The card is built from what a run knows: the pipeline itself (configs, parameter counts), the training
arguments (`train_config.json` written by the trainer) and the evaluation report (written by the
evaluation script). Anything missing is said to be missing rather than left out silently.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import sysconfig
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .remote_code import remote_code_files

LIBRARY_NAME = "sagan-hf"  # not "diffusers": the Hub would show a DiffusionPipeline snippet that cannot work
PIPELINE_TAG = "unconditional-image-generation"
DEFAULT_LICENSE = "apache-2.0"
TEMPLATE_NAME = "sagan_model_card.md.j2"

# Metrics of the evaluation report, in card order: report key -> (label, model-index type).
_METRICS = {
    "fid": ("FID", "fid"),
    "is_mean": ("Inception Score", "inception_score"),
    "kid_mean": ("KID", "kid"),
    "precision": ("Precision", "precision"),
    "recall": ("Recall", "recall"),
    "per_class_fid": ("Intra-FID (mean per-class FID)", "fid"),
}
_METRIC_STDS = {"is_mean": "is_std", "kid_mean": "kid_std"}

# Training arguments shown in the recipe table, in order, with their labels.
_TRAINING_LABELS = {
    "dataset_name": "Dataset",
    "resolution": "Resolution",
    "train_batch_size": "Batch size per process",
    "num_processes": "Processes",
    "gradient_accumulation_steps": "Gradient accumulation steps",
    "max_train_steps": "Planned generator steps",
    "global_step": "Steps trained",
    "learning_rate_g": "Learning rate, generator",
    "learning_rate_d": "Learning rate, discriminator",
    "adam_beta1": "Adam beta1",
    "adam_beta2": "Adam beta2",
    "n_dis": "Discriminator steps per generator step",
    "ema_decay": "EMA decay of the generator weights",
    "mixed_precision": "Mixed precision",
    "seed": "Seed",
    "hardware": "Hardware",
    "train_time_seconds": "Training time",
}
# Arguments never copied into a public card: secrets, and local paths that mean nothing to readers.
_PRIVATE_ARGUMENT = re.compile(r"token|secret|password|api_key|credential|(^|_)dir$|_path$|resume_from", re.I)

_HUB_DATASET_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def template_path() -> Path:
    """Location of the card template.

    Looked up in order: `SAGAN_HF_MODEL_CARD_TEMPLATE`, the repository's `model_cards/` (source and
    editable installs), then `<prefix>/share/sagan-hf/model_cards/` (where a wheel's data files land).
    """
    override = os.environ.get("SAGAN_HF_MODEL_CARD_TEMPLATE")
    candidates = [Path(override)] if override else []
    # src/sagan_hf/hub/model_card.py -> repository root / model_cards
    candidates.append(Path(__file__).resolve().parents[3] / "model_cards" / TEMPLATE_NAME)
    candidates.append(Path(sysconfig.get_path("data")) / "share" / "sagan-hf" / "model_cards" / TEMPLATE_NAME)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"Model card template {TEMPLATE_NAME} not found (looked in: {', '.join(map(str, candidates))}); "
        "set SAGAN_HF_MODEL_CARD_TEMPLATE to its path."
    )


def load_json_report(path: str | os.PathLike, what: str) -> dict:
    """Reads a JSON object from `path` (a training config or an evaluation report), with clear errors."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{what} file not found: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{what} file {path} is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise ValueError(f"{what} file {path} must hold a JSON object, got {type(data).__name__}")
    return data


# -- formatting helpers ---------------------------------------------------------------------------
def _format_value(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_format_value(v) for v in value) + "]" if value else "none"
    text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")  # keep Markdown tables intact


def _format_duration(seconds: float) -> str:
    seconds = float(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    hours, minutes = divmod(round(seconds / 60), 60)
    if hours >= 48:
        return f"{hours / 24:.1f} days"
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def count_parameters(model) -> int:
    """Number of trainable parameters of a module."""
    return sum(p.numel() for p in model.parameters())


def _config_rows(config) -> list[tuple[str, str]]:
    # None in these configs means "the default for this sample size" (e.g. channel_multipliers).
    return [
        (key, "default" if value is None else _format_value(value))
        for key, value in dict(config).items()
        if not key.startswith("_")
    ]


def _attention_text(resolutions) -> str:
    resolutions = list(resolutions or [])
    if not resolutions:
        return "none"
    return ", ".join(f"{r}x{r}" for r in resolutions) + " feature maps"


def _is_hub_dataset_id(name: str) -> bool:
    return bool(_HUB_DATASET_ID.match(name)) and not Path(name).exists()


def _dataset_label(train_config: dict | None) -> str | None:
    if not train_config:
        return None
    name = train_config.get("dataset_name") or train_config.get("train_data_dir")
    if not name:
        return None
    name = str(name)
    if _is_hub_dataset_id(name) or not (os.sep in name or name.startswith(".")):
        return name
    return f"local data ({Path(name).name})"  # a path on the trainer's disk means nothing to readers


def _is_imagenet(dataset_label: str | None) -> bool:
    return bool(dataset_label) and "imagenet" in dataset_label.lower()


# -- training section -----------------------------------------------------------------------------
def _training_rows(train_config: dict) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    rows = []
    for key, label in _TRAINING_LABELS.items():
        if key not in train_config or train_config[key] is None:
            continue
        value = train_config[key]
        if key == "train_time_seconds":
            rows.append((label, _format_duration(value)))
        elif key in ("max_train_steps", "global_step") and isinstance(value, int):
            rows.append((label, f"{value:,}"))
        elif key == "dataset_name":
            rows.append((label, _format_value(_dataset_label(train_config))))
        else:
            rows.append((label, _format_value(value)))
    if "train_batch_size" in train_config:
        total = int(train_config["train_batch_size"]) * int(train_config.get("num_processes") or 1)
        total *= int(train_config.get("gradient_accumulation_steps") or 1)
        rows.insert(min(len(rows), 4), ("Total batch size", str(total)))
    others = [
        (key, _format_value(value))
        for key, value in sorted(train_config.items())
        if key not in _TRAINING_LABELS and not _PRIVATE_ARGUMENT.search(key)
    ]
    return rows, others


# -- evaluation section ---------------------------------------------------------------------------
def _evaluation_context(report: dict) -> dict:
    metrics = report.get("metrics")
    if not isinstance(metrics, dict) or not metrics:
        raise ValueError("The evaluation report must have a non-empty 'metrics' object (e.g. {'fid': 18.6})")
    metric_rows = []
    extra = [key for key in metrics if key not in _METRICS and key not in _METRIC_STDS.values()]
    known = list(_METRICS) + extra
    for key in known:
        if metrics.get(key) is None:
            continue
        label = _METRICS[key][0] if key in _METRICS else key  # a newer metric: shown under its own key
        try:
            value = float(metrics[key])
        except (TypeError, ValueError):
            raise ValueError(
                f"Metric {key!r} in the evaluation report must be a number, got {metrics[key]!r}"
            ) from None
        if not math.isfinite(value):
            raise ValueError(f"Metric {key!r} in the evaluation report is not a finite number: {value}")
        text = f"{value:.2f}" if key in ("fid", "is_mean") else f"{value:.4g}"
        std_key = _METRIC_STDS.get(key)
        if std_key and metrics.get(std_key) is not None:
            std = float(metrics[std_key])
            text += f" ± {std:.2f}" if key == "is_mean" else f" ± {std:.4g}"
        metric_rows.append((label, text))

    protocol = []
    if report.get("num_samples") is not None:
        protocol.append(("Generated samples", f"{int(report['num_samples']):,}"))
    if report.get("reference"):
        protocol.append(("Reference statistics", _format_value(report["reference"])))
    if report.get("inception_weights_sha256"):
        protocol.append(("Inception weights SHA-256", f"`{report['inception_weights_sha256']}`"))
    if report.get("resize_mode"):
        protocol.append(("Resize to 299x299", _format_value(report["resize_mode"])))
    if "truncation" in report:
        truncation = report["truncation"]
        protocol.append(("Truncation", "none" if truncation is None else _format_value(truncation)))
    if report.get("seed") is not None:
        protocol.append(("Sampling seed", _format_value(report["seed"])))
    versions = report.get("versions")
    if isinstance(versions, dict) and versions:
        protocol.append(("Software", ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))))
    return {"metric_rows": metric_rows, "protocol_rows": protocol}


def _eval_results(report: dict, dataset_label: str | None) -> list[EvalResult]:
    dataset_type = dataset_label if dataset_label and _is_hub_dataset_id(dataset_label) else "custom"
    results = []
    for key, (label, metric_type) in _METRICS.items():
        if report["metrics"].get(key) is None:
            continue
        results.append(
            EvalResult(
                task_type=PIPELINE_TAG,
                task_name="Image generation",
                dataset_type=dataset_type,
                dataset_name=dataset_label or "unknown",
                metric_type=metric_type,
                metric_name=label,
                metric_value=round(float(report["metrics"][key]), 6),
            )
        )
    return results


# -- how to load ----------------------------------------------------------------------------------
def _example_labels(pipeline) -> list:
    """The classes of the usage snippets: up to four, by name when the pipeline has names that map back."""
    count = min(4, pipeline.generator.config.num_classes)
    id2label = pipeline.id2label
    if id2label:
        names = [id2label[index].split(",")[0].strip() for index in range(count)]
        if pipeline.get_label_ids(names) == list(range(count)):  # not a synonym another class also has
            return names
    return list(range(count))


def _loading_context(pipeline) -> dict:
    """What the "How to use" part of the card shows: code files, example classes and the class names."""
    conditional = pipeline.generator.config.num_classes > 0
    example_labels = _example_labels(pipeline) if conditional else None
    cli_kwargs = {"class_labels": example_labels} if conditional else {"batch_size": 4}
    id2label = pipeline.id2label or {}
    return {
        "code_files": sorted(remote_code_files(pipeline)),
        "example_labels": json.dumps(example_labels) if conditional else None,
        "cli_pipeline_kwargs": shlex.quote(json.dumps(cli_kwargs)),
        "class_names": [(index, _format_value(name)) for index, name in sorted(id2label.items())],
    }


# -- card -----------------------------------------------------------------------------------------
def build_card_data(
    pipeline,
    repo_id: str,
    *,
    train_config: dict | None = None,
    eval_report: dict | None = None,
    license: str = DEFAULT_LICENSE,  # noqa: A002 - the Hub's metadata key
) -> ModelCardData:
    """The YAML metadata of the card: license, library, task, tags, datasets and model-index."""
    config = pipeline.generator.config
    dataset_label = _dataset_label(train_config)
    tags = ["gan", "sagan", "self-attention", "image-generation", "pytorch", "safetensors"]
    if config.num_classes > 0:
        tags.insert(3, "class-conditional")
    if eval_report:
        _evaluation_context(eval_report)  # validates the report before anything is built from it
    eval_results = _eval_results(eval_report, dataset_label) if eval_report else None
    return ModelCardData(
        license=license,
        library_name=LIBRARY_NAME,
        pipeline_tag=PIPELINE_TAG,
        tags=tags,
        datasets=[dataset_label] if dataset_label and _is_hub_dataset_id(dataset_label) else None,
        model_name=repo_id.split("/")[-1] if eval_results else None,
        eval_results=eval_results,
    )


def render_model_card(
    pipeline,
    repo_id: str,
    *,
    train_config: dict | None = None,
    eval_report: dict | None = None,
    sample_image: str | None = None,
    attention_image: str | None = None,
    sample_caption: str | None = None,
    attention_caption: str | None = None,
    license: str = DEFAULT_LICENSE,  # noqa: A002
) -> ModelCard:
    """Renders the README card of `pipeline` for `repo_id`.

    Args:
        pipeline: a `SAGANPipeline` (its generator config and, if present, its discriminator are described).
        repo_id: `"org/name"` used in the usage snippet.
        train_config: the trainer's flat `train_config.json` dict, or None ("no training record").
        eval_report: the evaluation report dict (`{"metrics": {...}, "num_samples": ..., ...}`), or None
            (the card then says "not evaluated" and carries no model-index).
        sample_image / attention_image: file names of images uploaded with the card, or None.
    """
    from sagan_hf import __version__

    generator_config = pipeline.generator.config
    discriminator = getattr(pipeline, "discriminator", None)
    dataset_label = _dataset_label(train_config)
    conditional = generator_config.num_classes > 0
    training_rows, other_training_args = _training_rows(train_config) if train_config else ([], [])
    card_data = build_card_data(
        pipeline, repo_id, train_config=train_config, eval_report=eval_report, license=license
    )
    context = {
        "repo_id": repo_id,
        "model_title": repo_id.split("/")[-1],
        "install_command": "pip install sagan-hf",
        "package_version": __version__,
        "conditional": conditional,
        "num_classes": generator_config.num_classes,
        "resolution": generator_config.sample_size,
        "z_dim": generator_config.z_dim,
        "generator_params": f"{count_parameters(pipeline.generator):,}",
        "attention_g": _attention_text(generator_config.attention_resolutions),
        "generator_config_rows": _config_rows(generator_config),
        "has_discriminator": discriminator is not None,
        "discriminator_params": f"{count_parameters(discriminator):,}" if discriminator is not None else None,
        "attention_d": (
            _attention_text(discriminator.config.attention_resolutions) if discriminator is not None else None
        ),
        "discriminator_config_rows": _config_rows(discriminator.config) if discriminator is not None else [],
        "dataset_label": dataset_label,
        "dataset_link": (
            f"https://huggingface.co/datasets/{dataset_label}"
            if dataset_label and _is_hub_dataset_id(dataset_label)
            else None
        ),
        "is_imagenet": _is_imagenet(dataset_label),
        "training_rows": training_rows,
        "other_training_args": other_training_args,
        "evaluation": _evaluation_context(eval_report) if eval_report else None,
        "sample_image": sample_image,
        "attention_image": attention_image,
        "sample_caption": sample_caption or "Samples from this model.",
        "attention_caption": attention_caption or "Self-attention of the generator.",
        **_loading_context(pipeline),
    }
    return ModelCard.from_template(card_data, template_path=str(template_path()), **context)

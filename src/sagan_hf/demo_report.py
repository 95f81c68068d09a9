"""The demo's closing report: sample grids, attention maps and how well samples follow their class.

A small classifier trained on real `shapes` images (near 100% on held-out real ones) labels generated
images; the score is the fraction classified as the class they were generated for (chance: 1 / 5).
"""

import json
from pathlib import Path

import PIL.Image
import PIL.ImageDraw
import PIL.ImageFont
import torch

from .data.shapes import SHAPES_CLASSES
from .data.shapes.classifier import class_accuracy, train_shapes_classifier
from .pipelines import SAGANPipeline
from .visualization import class_rows_grid, upscale_small, write_samples

NAMED_GRID = "samples_by_class.png"


@torch.no_grad()
def class_following_accuracy(pipe: SAGANPipeline, classifier, samples_per_class: int, seed: int) -> dict[str, float]:
    """Accuracy of `classifier` on `samples_per_class` generated images of each class, per class."""
    generator = torch.Generator().manual_seed(seed)
    scores = {}
    for label, name in enumerate(SHAPES_CLASSES):
        images = pipe(class_labels=[label] * samples_per_class, generator=generator, output_type="pt").images
        scores[name] = class_accuracy(classifier, images * 2 - 1, [label] * samples_per_class)
    return scores


def named_rows_grid(pipe: SAGANPipeline, labels: list[str], per_class: int, seed: int) -> PIL.Image.Image:
    """One row of samples per class, each row headed by its label (class name and score)."""
    side = pipe.generator.config.sample_size
    grid = upscale_small(class_rows_grid(pipe, range(len(labels)), per_class, seed), side)
    row_height = grid.height // len(labels)
    font = PIL.ImageFont.load_default(size=max(12, row_height // 5))
    margin = max(int(PIL.ImageDraw.Draw(grid).textlength(label, font=font)) for label in labels) + row_height // 3
    sheet = PIL.Image.new("RGB", (margin + grid.width, grid.height), (255, 255, 255))
    sheet.paste(grid, (margin, 0))
    draw = PIL.ImageDraw.Draw(sheet)
    for row, label in enumerate(labels):
        draw.text((row_height // 6, row * row_height + row_height // 2), label, fill=(0, 0, 0), font=font, anchor="lm")
    return sheet


def _class_names(pipe: SAGANPipeline) -> list[str]:
    """The pipeline's class names, which must be the shapes classes in the classifier's order."""
    num_classes = pipe.generator.config.num_classes
    names = [pipe.id2label[i] for i in range(num_classes)] if pipe.id2label else list(SHAPES_CLASSES)
    if names != list(SHAPES_CLASSES):
        raise ValueError(f"the demo report scores a model trained on `shapes` (classes {', '.join(SHAPES_CLASSES)}); "
                         f"this pipeline's classes are {', '.join(names)}")
    return names


def run_demo_report(pipeline_dir: str | Path, output_dir: str | Path, *, samples_per_class: int = 200,
                    seed: int = 0, classifier_seconds: float = 30.0, training_notes: dict | None = None) -> dict:
    """Write grids and attention maps of the pipeline in `pipeline_dir`, measure class accuracy, return the
    report. `training_notes` (e.g. the CPU threads used) are added to the report's training section."""
    output_dir = Path(output_dir)
    pipe = SAGANPipeline.from_pretrained(pipeline_dir)
    pipe.set_progress_bar_config(disable=True)
    num_classes = pipe.generator.config.num_classes
    if num_classes != len(SHAPES_CLASSES):
        raise ValueError(
            f"the demo report scores a model trained on `shapes` ({len(SHAPES_CLASSES)} classes); "
            f"this pipeline has num_classes={num_classes}"
        )
    names = _class_names(pipe)
    written = write_samples(pipe, output_dir, classes=range(num_classes), class_names=names, seed=seed)
    classifier = train_shapes_classifier(resolution=pipe.generator.config.sample_size, max_seconds=classifier_seconds)
    per_class = class_following_accuracy(pipe, classifier, samples_per_class, seed)
    labels = [f"{name} {per_class[name]:.0%}" for name in names]
    named_rows_grid(pipe, labels, per_class=8, seed=seed).save(output_dir / NAMED_GRID)
    written["samples_by_class"] = str(output_dir / NAMED_GRID)
    report = {
        "class_accuracy": sum(per_class.values()) / len(per_class),
        "class_accuracy_per_class": per_class,
        "chance": 1 / num_classes,
        "samples_per_class": samples_per_class,
        "classifier_held_out_accuracy": getattr(classifier, "held_out_accuracy", None),
        "files": written,
    }
    train_config = Path(pipeline_dir) / "train_config.json"
    if train_config.is_file():
        config = json.loads(train_config.read_text())
        report["training"] = {k: config.get(k) for k in ("global_step", "train_time_seconds", "preset", "hardware")}
    if training_notes:
        report.setdefault("training", {}).update(training_notes)
    (output_dir / "report.json").write_text(json.dumps(report, indent=2))
    return report


def format_report(report: dict) -> str:
    lines = [f"Class accuracy of generated samples: {report['class_accuracy']:.1%} "
             f"(chance {report['chance']:.0%}, {report['samples_per_class']} samples per class)"]
    lines += [f"  {name:<9} {score:.1%}" for name, score in report["class_accuracy_per_class"].items()]
    held_out = report.get("classifier_held_out_accuracy")
    if held_out is not None:
        lines.append(f"(the classifier scores {held_out:.1%} on held-out real images)")
    training = report.get("training") or {}
    if training.get("global_step") is not None:
        threads = f" (CPU threads: {training['cpu_threads']})" if training.get("cpu_threads") else ""
        lines.append(f"Trained {training['global_step']} steps in {training.get('train_time_seconds') or 0:.0f} s{threads}")
    lines.append(f"Samples by class name: {report['files']['samples_by_class']}; grids and attention maps: "
                 f"{Path(report['files']['samples_grid']).parent}")
    return "\n".join(lines)

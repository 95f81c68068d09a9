"""The SAGAN runs StudioGAN published, recognised by the run name in the file's path or D file.

The Hub runs (`Mingguksky/PyTorch-StudioGAN`, folder `studiogan_official_ckpt/`) are reported in
StudioGAN's benchmark figure, whose numbers are not transcribed here; the older Google-Drive runs were
reported as text in its README (IS / FID below, with the protocol it stated).
"""

from __future__ import annotations

from ..core import PublishedCheckpoint, SourceProject

PROJECT = SourceProject("StudioGAN", "https://github.com/POSTECH-CVLab/PyTorch-StudioGAN", "mit")
HUB_REPO = "Mingguksky/PyTorch-StudioGAN"
_HUB = f"https://huggingface.co/{HUB_REPO}/tree/main/studiogan_official_ckpt/"
_FIGURE = ("reported in StudioGAN's benchmark figure (README, 'StudioGAN_Benchmark'), not transcribed here: "
           "50,000 samples against the training set, with standing statistics")
# Its benchmarks recompute BatchNorm statistics before sampling and sample with spectral norm left in
# training mode (one power iteration per call); neither is stored in the files.
_RECIPE = {"generator": "plain (StudioGAN kept no EMA copy for SAGAN)", "truncation": None,
           "standing_statistics": True, "spectral_norm": "one power iteration per sampling call"}


def _hub(run: str, folder: str, dataset: str, resolution: int, num_classes: int) -> PublishedCheckpoint:
    return PublishedCheckpoint(file=f"studiogan_official_ckpt/{folder}/{run}", url=_HUB + f"{folder}/{run}",
                               dataset=dataset, resolution=resolution, num_classes=num_classes, scores={},
                               scores_protocol=_FIGURE, sampling=dict(_RECIPE))


def _drive(run: str, url: str, dataset: str, resolution: int, num_classes: int, scores, protocol, recipe=None):
    return PublishedCheckpoint(file=run, url=url, dataset=dataset, resolution=resolution, num_classes=num_classes,
                               scores={"IS": scores[0], "FID": scores[1]}, scores_protocol=protocol,
                               sampling=dict(recipe or {**_RECIPE, "standing_statistics": False}))


# run-name fragment -> entry
PUBLISHED = {
    "ImageNet-SAGAN-256-train-2022_03_12_17_11_43": _hub(
        "ImageNet-SAGAN-256-train-2022_03_12_17_11_43", "ImageNet_tailored", "ImageNet-1k", 128, 1000),
    "Baby_ImageNet-SAGAN-train-2022_03_09_17_06_13": _hub(
        "Baby_ImageNet-SAGAN-train-2022_03_09_17_06_13", "Baby_ImageNet_tailored", "Baby ImageNet (100 classes)", 64, 100),
    "Papa_ImageNet-SAGAN-train-2022_03_09_00_55_23": _hub(
        "Papa_ImageNet-SAGAN-train-2022_03_09_00_55_23", "Papa_ImageNet_tailored", "Papa ImageNet (100 classes)", 64, 100),
    "Grandpa_ImageNet-SAGAN-train-2022_03_08_03_19_50": _hub(
        "Grandpa_ImageNet-SAGAN-train-2022_03_08_03_19_50", "Grandpa_ImageNet_tailored",
        "Grandpa ImageNet (100 classes)", 64, 100),
    "SAGAN-train-2020_09_18_23_34_49": _drive(
        "SAGAN-train-2020_09_18_23_34_49", "https://drive.google.com/drive/folders/1FA8hcz4MB8-hgTwLuDA0ZUfr8slud5P_",
        "CIFAR-10", 32, 10, (8.680, 14.009), "StudioGAN's README (2020-2022): 10,000 samples against the 10,000 test images"),
    "SAGAN-train-2021_01_15_12_16_42": _drive(
        "SAGAN-train-2021_01_15_12_16_42", "https://drive.google.com/drive/folders/1J_A8fyaasglEuQB3M9A2u6HdPfsMt5xl",
        "Tiny ImageNet", 64, 200, (8.342, 51.414),
        "StudioGAN's README (2021-2022): 10,000 samples against the 10,000 validation images"),
    "SAGAN-train-2021_02_11_16_18_59": _drive(
        "SAGAN-train-2021_02_11_16_18_59", "https://drive.google.com/drive/folders/1ZYaqeeumDgxOPDhRR5QLeLFIpgBJ9S6B",
        "ImageNet-1k", 128, 1000, (29.848, 34.726),
        "StudioGAN's README (2021-2022): 50,000 samples against the 50,000 validation images, standing statistics",
        recipe=_RECIPE),
}


def find_published(*names: str | None, resolution: int, num_classes: int) -> PublishedCheckpoint | None:
    """The published run named in any of `names` (file paths, the D file's `run_name`), if its shape fits."""
    for fragment, entry in PUBLISHED.items():
        if any(name and fragment in name for name in names):
            return entry if (entry.resolution, entry.num_classes) == (resolution, num_classes) else None
    return None

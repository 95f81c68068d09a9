"""scripts/sample.py writes a grid per class, a grid of all classes and the attention figure."""

import json
import subprocess
import sys
from pathlib import Path

import PIL.Image
import pytest
import torch

from sagan_hf import SAGANGenerator, SAGANPipeline

SCRIPT = Path(__file__).parents[1] / "scripts" / "sample.py"


@pytest.mark.slow
def test_sample_script_writes_grids_and_attention_maps(tmp_path):
    torch.manual_seed(0)
    SAGANPipeline(generator=SAGANGenerator(sample_size=32, num_classes=3, ch=8, attention_resolutions=(16,))).save_pretrained(tmp_path / "pipe")
    out = tmp_path / "samples"
    subprocess.run(
        [sys.executable, str(SCRIPT), "--pipeline", str(tmp_path / "pipe"), "--output_dir", str(out),
         "--per_class", "4", "--class_names", "cat,dog,fox"],
        check=True, capture_output=True, text=True,
    )
    written = json.loads((out / "samples.json").read_text())
    assert sorted(written["grids"]) == ["cat", "dog", "fox"]
    with PIL.Image.open(out / "class_0001_dog.png") as grid:
        assert grid.size == (4 * 32, 32)
    with PIL.Image.open(out / "samples_grid.png") as grid:
        assert grid.size == (4 * 32, 3 * 32)
    with PIL.Image.open(out / "attention_maps.png") as figure:
        assert figure.format == "PNG" and figure.size[0] == 4 * 128  # image + 3 query columns

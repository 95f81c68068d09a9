"""The attention-map figure is a valid PNG with one row per image and one column per query."""

import numpy as np
import PIL.Image
import pytest
import torch

from sagan_hf import SAGANGenerator, SAGANPipeline
from sagan_hf.visualization import attention_map_for_query, save_attention_maps


def test_writes_a_png_of_the_expected_layout(tmp_path):
    torch.manual_seed(0)
    pipe = SAGANPipeline(generator=SAGANGenerator(sample_size=32, num_classes=5, ch=8, attention_resolutions=(16,)))
    out = pipe(class_labels=[0, 1], generator=torch.Generator().manual_seed(0), output_attentions=True)
    path = save_attention_maps(tmp_path / "maps.png", out.images, out.attentions, [(0.2, 0.2), (0.6, 0.4)], cell_size=64)
    with PIL.Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (3 * 64, 2 * 64)
        pixels = np.asarray(image.convert("RGB"))
    assert pixels[:, 64:].std() > 0  # the overlays are not blank


def test_the_map_of_a_query_is_its_row_reshaped_to_the_pooled_grid():
    attention = torch.zeros(64, 16)  # an 8x8 map over a 4x4 pooled grid
    attention[2 * 8 + 5, 7] = 1.0  # query at row 2, column 5 attends to pooled cell 7 = (1, 3)
    heat = attention_map_for_query(attention, (5 / 8 + 0.01, 2 / 8 + 0.01))
    assert heat.shape == (4, 4) and heat[1, 3] == 1.0 and heat.sum() == 1.0


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="relative"):
        attention_map_for_query(torch.zeros(64, 16), (8, 2))
    with pytest.raises(ValueError, match="N a square"):
        attention_map_for_query(torch.zeros(60, 15), (0.1, 0.1))

"""A converted checkpoint's card: where the weights came from, the source's scores as reported, and
the newcomer's path: convert, push, load by repo id (against the loopback Hub)."""

import json
from pathlib import Path

import pytest
import torch
import yaml
from convert_sources import (
    fill,
    save_studiogan_files,
    studiogan_discriminator_spec,
    studiogan_generator_spec,
)
from hub_server import LoopbackHubServer
from huggingface_hub import hf_hub_download

from sagan_hf import SAGANPipeline
from sagan_hf.cli import convert as convert_command
from sagan_hf.cli import push as push_command
from sagan_hf.hub.model_card import render_model_card

TOKEN = LoopbackHubServer.VALID_TOKEN


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """A StudioGAN CIFAR-10 run recognised from its run name, converted by the command line."""
    folder = tmp_path_factory.mktemp("studiogan")
    g_state = fill(studiogan_generator_spec([16] * 4, 10, (2,), z_dim=16, cbn="embeddings"), 0)
    d_state = fill(studiogan_discriminator_spec([16] * 4, 32, 10), 1)
    g_path, d_path = save_studiogan_files(folder / "run", g_state, d_state, run_name="SAGAN-train-2020_09_18_23_34_49")
    out = folder / "sagan-cifar10"
    assert convert_command.main(["--generator", str(g_path), "--discriminator", str(d_path), "--output_dir", str(out)],
                                source="studiogan") == 0
    return out


def _front_matter(card: str) -> dict:
    return yaml.safe_load(card.split("---")[1])


def test_card_says_where_the_weights_come_from(converted):
    conversion = json.loads((converted / "conversion.json").read_text())
    card = str(render_model_card(SAGANPipeline.from_pretrained(converted), "me/sagan-cifar10", conversion=conversion))
    meta = _front_matter(card)
    assert meta["license"] == "mit" and "converted-from-studiogan" in meta["tags"]
    assert "model-index" not in meta  # reported scores are not presented as measured ones
    assert "## Converted from StudioGAN" in card
    assert "[StudioGAN](https://github.com/POSTECH-CVLab/PyTorch-StudioGAN) (licence of the weights: mit)" in card
    for entry in conversion["files"]:
        assert f"| {entry['role']}: `{entry['name']}` | `{entry['sha256']}` |" in card
    assert "**Scores reported by StudioGAN, not measured here:**" in card
    assert "| IS | 8.68 |" in card and "| FID | 14.009 |" in card
    assert "10,000 samples against the 10,000 test images" in card
    assert "| Spectral norm while sampling | one power iteration per sampling call |" in card
    assert "`best_fid` = 21.5" in card and "| `fold_power_iterations` | 0 |" in card
    assert "trained with StudioGAN's own code on CIFAR-10" in card and "No training record" not in card
    assert "**Not evaluated.**" in card  # nothing was measured here
    with pytest.raises(ValueError, match="The conversion record must be a JSON object with 'source' and 'files'"):
        render_model_card(SAGANPipeline.from_pretrained(converted), "me/x", conversion={"files": []})


def test_convert_push_and_load_by_repo_id(hub_server, converted, tmp_path):
    assert push_command.main(["--pipeline", str(converted), "--repo_id", "tester/sagan-cifar10-studiogan",
                              "--token", TOKEN, "--no-images"]) == 0
    card = Path(hf_hub_download("tester/sagan-cifar10-studiogan", "README.md", token=TOKEN, cache_dir=tmp_path)).read_text()
    assert "## Converted from StudioGAN" in card and _front_matter(card)["license"] == "mit"
    loaded = SAGANPipeline.from_pretrained("tester/sagan-cifar10-studiogan", token=TOKEN, cache_dir=tmp_path)
    local = SAGANPipeline.from_pretrained(converted)
    assert loaded.get_label_ids("horse") == [7]
    kwargs = dict(class_labels=["airplane", "frog"], output_type="pt")
    assert torch.equal(loaded(generator=torch.Generator().manual_seed(0), **kwargs).images,
                       local(generator=torch.Generator().manual_seed(0), **kwargs).images)

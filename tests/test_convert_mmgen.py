"""MMGeneration checkpoints -> SAGANPipeline, checked against MMGeneration's maths (tests/convert_sources.py).

Files are written as MMGeneration writes them (meta with numpy float64 best scores and, for training
files, the config as text; prefixed state dicts); each converted network must reproduce the source's
eval-mode outputs to 1e-5, with BGR turned into RGB.
"""

import json

import pytest
import torch
from convert_sources import (
    fill,
    mmgen_discriminator_forward,
    mmgen_discriminator_spec,
    mmgen_generator_forward,
    mmgen_generator_spec,
    rewrite_numpy_scalar_path,
    run_script,
    save_mmgen_checkpoint,
)

from sagan_hf.convert.core import PublishedCheckpoint, file_sha256
from sagan_hf.convert.mmgen import PUBLISHED, convert_mmgen_checkpoint

BGR = [2, 1, 0]
TOL = dict(rtol=1e-5, atol=1e-5)


def _config_text(norm_eps=None, d_inplace=False, init="BigGAN"):
    """The config as MMGeneration's training script stores it in meta["config"] (mmcv pretty_text)."""
    generator = f"init_cfg=dict(type='{init}')" + (f", norm_eps={norm_eps}" if norm_eps is not None else "")
    return (
        "model = dict(\n    type='BasiccGAN',\n"
        f"    generator=dict(type='SAGANGenerator', output_scale=128, {generator}),\n"
        f"    discriminator=dict(type='ProjDiscriminator', act_cfg=dict(type='ReLU', inplace={d_inplace})))\n"
        "optimizer = dict(generator=dict(type='Adam', lr=0.0001, betas=(0.0, 0.999)))\n"
        "checkpoint_config = dict(interval=10000, by_epoch=False, max_keep_ckpts=20)\n"
    )


# resolution -> (G widths, G attention after block, D widths, D down-sampling after from_rgb)
LAYOUTS = {
    128: ([64, 64, 32, 16, 8, 4], (4,), [8, 16, 32, 64, 128, 128], [True, True, True, True, False]),
    64: ([64, 32, 16, 8, 4], (3,), [8, 16, 32, 64, 128], [True, True, True, True]),
    32: ([16, 16, 16, 16], (2,), [16, 16, 16, 16], [True, False, False]),
}


def _networks(resolution, num_classes, embedding_sn=True, ema=False, seed=0):
    g_widths, g_attention, d_widths, downsample = LAYOUTS[resolution]
    spec = mmgen_generator_spec(g_widths, num_classes, g_attention, z_dim=16, embedding_sn=embedding_sn)
    networks = {"generator": fill(spec, seed)}
    if ema:
        networks["generator_ema"] = fill(spec, seed + 10)
    networks["discriminator"] = fill(mmgen_discriminator_spec(d_widths, downsample, num_classes), seed + 20)
    return networks, downsample


def _inputs(resolution, num_classes, seed=3):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(3, 16, generator=gen)
    images = torch.rand(3, 3, resolution, resolution, generator=gen) * 2 - 1
    return z, torch.tensor([0, num_classes - 1, 1]), images


@pytest.mark.parametrize(
    "resolution, setup",
    [
        # the BigGAN-schedule run: EMA generator, plain CBN embeddings, BN eps 1e-5, config in meta
        (128, dict(embedding_sn=False, ema=True, config=_config_text(norm_eps=1e-05))),
        # no config and not published: the facts come from the flags
        (64, dict(embedding_sn=True, ema=False, flags=dict(bn_eps=1e-4, discriminator_inplace_relu=False))),
        # a wReLUinplace CIFAR run: D's shortcut sees relu(x); config without norm_eps (MMGeneration's 1e-4)
        (32, dict(embedding_sn=True, ema=False, config=_config_text(d_inplace=True))),
    ],
)
def test_converted_networks_reproduce_mmgen_in_rgb(tmp_path, resolution, setup):
    num_classes = 10 if resolution == 32 else 5
    networks, downsample = _networks(resolution, num_classes, setup["embedding_sn"], setup["ema"])
    path = save_mmgen_checkpoint(tmp_path / "ckpt.pth", networks, setup.get("config"))
    pipe = convert_mmgen_checkpoint(path, tmp_path / "out", **setup.get("flags", {}))
    eps = 1e-5 if resolution == 128 else 1e-4
    inplace = resolution == 32
    assert pipe.generator.config.bn_eps == eps
    assert pipe.discriminator.config.shortcut_takes_activation is inplace

    z, y, images = _inputs(resolution, num_classes)
    expected_g = networks["generator_ema" if setup["ema"] else "generator"]
    with torch.no_grad():
        ours = pipe.generator(z, y)
        reference = mmgen_generator_forward(expected_g, z, y, eps)
        assert reference.abs().max() < 0.999 and reference.std() > 0.05  # not saturated: a real comparison
        assert torch.allclose(ours, reference[:, BGR], **TOL)
        logits = pipe.discriminator(images, y)
        reference_logits = mmgen_discriminator_forward(networks["discriminator"], images[:, BGR], y, downsample, inplace)
        assert torch.allclose(logits, reference_logits.squeeze(1), **TOL)
        # what the options change is visible: the other generator, the other ReLU, the other colour order
        if setup["ema"]:
            assert not torch.allclose(ours, mmgen_generator_forward(networks["generator"], z, y, eps)[:, BGR], atol=1e-2)
        other = mmgen_discriminator_forward(networks["discriminator"], images[:, BGR], y, downsample, not inplace)
        assert not torch.allclose(logits, other.squeeze(1), atol=1e-3)
        assert not torch.allclose(ours, reference, atol=1e-2)

    record = json.loads((tmp_path / "out" / "conversion.json").read_text())
    assert record["source"] == "MMGeneration" and record["license"] == "apache-2.0"
    assert record["files"] == [{"role": "checkpoint", "name": "ckpt.pth", "sha256": file_sha256(path)}]
    assert record["options"]["color_order"] == "bgr"
    assert record["checkpoint_notes"]["best_score_fid"] == pytest.approx(12.8295)
    expected_origin = "flag" if "flags" in setup else "the file's config"
    assert record["options"]["facts_from"]["bn_eps"] == expected_origin


def test_the_plain_generator_and_rgb_order_on_request(tmp_path):
    networks, _ = _networks(32, 10, ema=True)
    path = save_mmgen_checkpoint(tmp_path / "ckpt.pth", networks, _config_text())
    pipe = convert_mmgen_checkpoint(path, generator="orig", color_order="rgb", include_discriminator=False)
    z, y, _ = _inputs(32, 10)
    with torch.no_grad():
        assert torch.allclose(pipe.generator(z, y), mmgen_generator_forward(networks["generator"], z, y, 1e-4), **TOL)
    assert pipe.discriminator is None


def test_a_published_file_is_recognised_by_its_sha256(tmp_path, monkeypatch):
    networks, downsample = _networks(32, 10)
    path = save_mmgen_checkpoint(tmp_path / "sagan_32_cifar10_convert-studio-rgb.pth", networks)
    # the table is keyed by the first 8 hex digits of the SHA-256, which MMGeneration puts in file names
    entry = PublishedCheckpoint(
        file="sagan_32_cifar10_convert-studio-rgb_20210730_153321-080da7e2.pth", url="https://example/x.pth",
        dataset="CIFAR-10", resolution=32, num_classes=10, scores={"IS": 9.116, "FID": 10.2011},
        scores_protocol="MMGeneration's evaluation", sampling={"generator": "plain", "truncation": None},
        facts={"color_order": "rgb", "bn_eps": 1e-4, "discriminator_inplace_relu": True},
    )
    monkeypatch.setitem(PUBLISHED, file_sha256(path)[:8], entry)
    pipe = convert_mmgen_checkpoint(path, tmp_path / "out")  # no flags needed: the table knows the facts
    z, y, images = _inputs(32, 10)
    with torch.no_grad():
        assert torch.allclose(pipe.generator(z, y), mmgen_generator_forward(networks["generator"], z, y, 1e-4), **TOL)
        expected = mmgen_discriminator_forward(networks["discriminator"], images, y, downsample, True)
        assert torch.allclose(pipe.discriminator(images, y), expected.squeeze(1), **TOL)
    assert pipe.id2label[0] == "airplane" and pipe.get_label_ids("truck") == [9]
    record = json.loads((tmp_path / "out" / "conversion.json").read_text())
    assert record["published"]["reported_scores"] == {"IS": 9.116, "FID": 10.2011}
    assert record["dataset"] == "CIFAR-10"
    assert record["options"]["facts_from"] == {"bn_eps": "published table", "gain_offset": "MMGeneration's default (BigGAN initialisation)",
                                               "color_order": "published table", "d_inplace_relu": "published table"}


def test_every_published_entry_is_keyed_by_its_file_name_hash():
    for key, entry in PUBLISHED.items():
        assert entry.file.endswith(f"-{key}.pth") and entry.url.endswith(entry.file)
        assert set(entry.facts) == {"color_order", "bn_eps", "discriminator_inplace_relu"}
    assert PUBLISHED["3f5686af"].scores == {"IS": 69.535, "FID": 12.8295} and PUBLISHED["3f5686af"].facts["bn_eps"] == 1e-5


def test_files_pickled_by_numpy_1_load_too(tmp_path):
    networks, _ = _networks(32, 10)
    path = rewrite_numpy_scalar_path(save_mmgen_checkpoint(tmp_path / "old.pth", networks, _config_text()))
    pipe = convert_mmgen_checkpoint(path, include_discriminator=False)
    assert pipe.generator.config.sample_size == 32


def _run_script(*args):
    return run_script("convert_mmgen_checkpoint.py", *args)


def test_script_writes_a_safetensors_pipeline_that_loads(tmp_path, capsys):
    from sagan_hf.pipelines import SAGANPipeline

    networks, _ = _networks(32, 10)
    path = save_mmgen_checkpoint(tmp_path / "ckpt.pth", networks, _config_text(d_inplace=True))
    assert _run_script("--checkpoint", path, "--output_dir", tmp_path / "out") == 0
    assert "Wrote" in capsys.readouterr().out
    files = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert not [name for name in files if name.endswith((".bin", ".pth", ".pt", ".pkl"))]
    assert "generator/diffusion_pytorch_model.safetensors" in files and "conversion.json" in files
    pipe = SAGANPipeline.from_pretrained(tmp_path / "out")
    z, y, _ = _inputs(32, 10)
    with torch.no_grad():
        assert torch.allclose(pipe.generator(z, y), mmgen_generator_forward(networks["generator"], z, y, 1e-4)[:, BGR], **TOL)
    assert pipe.get_label_ids(["airplane", "ship"]) == [0, 8]


def test_refusals_name_what_was_expected(tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match=r"Could not read .*junk\.pth with torch\.load\(weights_only=True\).*expected an MMGeneration checkpoint"):
        convert_mmgen_checkpoint(junk)
    torch.save({"generator": {}}, tmp_path / "plain.pth")
    with pytest.raises(ValueError, match=r"plain\.pth is not an MMGeneration checkpoint.*found \['generator'\]"):
        convert_mmgen_checkpoint(tmp_path / "plain.pth")
    torch.save({"state_dict": {"netG.weight": torch.zeros(1)}}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match=r"prefixes \['netG'\]"):
        convert_mmgen_checkpoint(tmp_path / "other.pth")

    networks, _ = _networks(32, 10)
    path = save_mmgen_checkpoint(tmp_path / "ckpt.pth", networks)
    with pytest.raises(ValueError, match=r"does not record the BatchNorm epsilon \(--bn_eps.*nor whether D's ReLU was in place"):
        convert_mmgen_checkpoint(path)
    with pytest.raises(ValueError, match=r"has no EMA generator .*use --generator orig"):
        convert_mmgen_checkpoint(path, generator="ema", bn_eps=1e-4, include_discriminator=False)
    with pytest.raises(ValueError, match=r"color_order must be one of bgr, rgb; got 'rbg'"):
        convert_mmgen_checkpoint(path, color_order="rbg", bn_eps=1e-4, include_discriminator=False)
    no_d = save_mmgen_checkpoint(tmp_path / "g_only.pth", {"generator": networks["generator"]}, _config_text())
    with pytest.raises(ValueError, match=r"has no discriminator .*use --no_discriminator"):
        convert_mmgen_checkpoint(no_d)

    broken = dict(networks)
    broken["generator"] = dict(networks["generator"])
    del broken["generator"]["conv_blocks.1.conv_2.conv.weight_u"]
    broken["generator"]["conv_blocks.1.extra"] = torch.zeros(2)
    broken["generator"]["to_rgb.bn.running_var"] = torch.ones(5)
    path = save_mmgen_checkpoint(tmp_path / "broken.pth", broken, _config_text())
    with pytest.raises(ValueError) as error:
        convert_mmgen_checkpoint(path, include_discriminator=False)
    message = str(error.value)
    assert "does not match the expected MMGeneration layout" in message
    assert "missing keys: conv_blocks.1.conv_2.conv.weight_u" in message
    assert "unexpected keys: conv_blocks.1.extra" in message
    assert "to_rgb.bn.running_var: expected shape (16,), found (5,)" in message


def test_command_line_reports_a_bad_file_in_one_line(tmp_path, capsys):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"\x00" * 16)
    assert _run_script("--checkpoint", junk, "--output_dir", tmp_path / "o") == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Could not read") and "MMGeneration checkpoint" in lines[0]
    assert not (tmp_path / "o").exists()

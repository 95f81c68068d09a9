"""StudioGAN files -> SAGANPipeline, checked against StudioGAN's maths (tests/convert_sources.py).

The G and D files are written as StudioGAN's worker writes them (optimizer state, run data, a numpy
float64 best FID); the three conditional-BN formats of its history, its in-place ReLU discriminator
and k folded power iterations must all reproduce its outputs to 1e-5.
"""

import json

import pytest
import torch
from convert_sources import (
    fill,
    rewrite_numpy_scalar_path,
    run_script,
    save_studiogan_files,
    studiogan_discriminator_forward,
    studiogan_discriminator_spec,
    studiogan_generator_forward,
    studiogan_generator_spec,
)

from sagan_hf.convert.studiogan import convert_studiogan_checkpoint

TOL = dict(rtol=1e-5, atol=1e-5)

# resolution -> (G widths, G attention after block, D widths); StudioGAN's tables with g/d_conv_dim 4 / 8
LAYOUTS = {
    128: ([64, 64, 32, 16, 8, 4], (4,), [8, 16, 32, 64, 128, 128]),
    64: ([64, 32, 16, 8, 4], (3,), [8, 16, 32, 64, 128]),
    32: ([16, 16, 16, 16], (2,), [16, 16, 16, 16]),
}


def _states(resolution, num_classes, cbn, seed=0):
    g_widths, g_attention, d_widths = LAYOUTS[resolution]
    g_state = fill(studiogan_generator_spec(g_widths, num_classes, g_attention, z_dim=16, cbn=cbn), seed)
    d_state = fill(studiogan_discriminator_spec(d_widths, resolution, num_classes), seed + 1)
    return g_state, d_state


def _inputs(resolution, num_classes, seed=4):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(3, 16, generator=gen)
    return z, torch.tensor([num_classes - 1, 0, 2]), torch.rand(3, 3, resolution, resolution, generator=gen) * 2 - 1


@pytest.mark.parametrize("resolution, cbn", [(128, "onehot_linear"), (64, "shared_embedding"), (32, "embeddings")])
def test_converted_networks_reproduce_studiogan(tmp_path, resolution, cbn):
    num_classes = 10 if resolution == 32 else 5
    g_state, d_state = _states(resolution, num_classes, cbn)
    g_path, d_path = save_studiogan_files(tmp_path, g_state, d_state)
    pipe = convert_studiogan_checkpoint(g_path, tmp_path / "out", discriminator=d_path)
    assert pipe.generator.config.bn_eps == 1e-4 and pipe.discriminator.config.shortcut_takes_activation
    z, y, images = _inputs(resolution, num_classes)
    with torch.no_grad():
        reference = studiogan_generator_forward(g_state, z, y)
        assert reference.abs().max() < 0.999 and reference.std() > 0.05  # not saturated: a real comparison
        assert torch.allclose(pipe.generator(z, y), reference, **TOL)
        logits = pipe.discriminator(images, y)
        assert torch.allclose(logits, studiogan_discriminator_forward(d_state, images, y), **TOL)
        for block in pipe.discriminator.blocks:  # the in-place ReLU matters: without it the logits move
            block.shortcut_takes_activation = False
        assert not torch.allclose(pipe.discriminator(images, y), logits, atol=1e-3)
    record = json.loads((tmp_path / "out" / "conversion.json").read_text())
    assert record["source"] == "StudioGAN" and record["license"] == "mit"
    assert record["options"]["cbn_format"] == cbn
    assert record["checkpoint_notes"] == {"run_name": "Test-SAGAN-train-2022_03_12_17_11_43", "step": 120000,
                                          "best_step": 120000, "best_fid": 21.5}
    assert "published" not in record  # an unknown run


def test_folded_power_iterations_reproduce_studiogan_sampling_calls(tmp_path):
    g_state, _ = _states(32, 10, "onehot_linear")
    g_path, _ = save_studiogan_files(tmp_path, g_state)
    z, y, _ = _inputs(32, 10)
    with torch.no_grad():
        after_two = convert_studiogan_checkpoint(g_path, fold_power_iterations=2).generator(z, y)
        # torch's own hook spectral norm, in training mode, at its second call
        assert torch.allclose(after_two, studiogan_generator_forward(g_state, z, y, calls=2), **TOL)
        assert not torch.allclose(after_two, studiogan_generator_forward(g_state, z, y), atol=1e-4)
    with pytest.raises(ValueError, match="fold_power_iterations must be an integer >= 0, got -1"):
        convert_studiogan_checkpoint(g_path, fold_power_iterations=-1)


def test_a_published_run_is_recognised_and_numpy_1_pickles_load(tmp_path):
    g_state, d_state = _states(32, 10, "embeddings")
    g_path, d_path = save_studiogan_files(tmp_path / "CIFAR10", g_state, d_state,
                                          run_name="SAGAN-train-2020_09_18_23_34_49", step=96000)
    rewrite_numpy_scalar_path(d_path)
    pipe = convert_studiogan_checkpoint(g_path, tmp_path / "out", discriminator=d_path)
    record = json.loads((tmp_path / "out" / "conversion.json").read_text())
    assert record["published"]["reported_scores"] == {"IS": 8.68, "FID": 14.009}
    assert record["dataset"] == "CIFAR-10" and record["checkpoint_notes"]["best_fid"] == 21.5
    assert pipe.get_label_ids("cat") == [3]


def _run_script(*args):
    return run_script("convert_studiogan_checkpoint.py", *args)


def test_script_writes_a_pipeline_that_loads(tmp_path):
    from sagan_hf.pipelines import SAGANPipeline

    g_state, d_state = _states(32, 10, "onehot_linear")
    g_path, d_path = save_studiogan_files(tmp_path, g_state, d_state)
    assert _run_script("--generator", g_path, "--discriminator", d_path, "--output_dir", tmp_path / "out",
                       "--fold_power_iterations", "1", "--class_names", "none") == 0
    pipe = SAGANPipeline.from_pretrained(tmp_path / "out")
    z, y, images = _inputs(32, 10)
    with torch.no_grad():
        assert torch.allclose(pipe.generator(z, y), studiogan_generator_forward(g_state, z, y, calls=1), **TOL)
        assert torch.allclose(pipe.discriminator(images, y), studiogan_discriminator_forward(d_state, images, y), **TOL)
    assert pipe.id2label is None
    assert json.loads((tmp_path / "out" / "conversion.json").read_text())["options"]["fold_power_iterations"] == 1


def test_refusals_name_what_was_expected(tmp_path, capsys):
    g_state, d_state = _states(32, 10, "onehot_linear")
    g_path, d_path = save_studiogan_files(tmp_path, g_state, d_state)
    with pytest.raises(ValueError, match=r"is not a StudioGAN generator file .*no 'linear0.weight_orig' \(it looks like a StudioGAN discriminator file\)"):
        convert_studiogan_checkpoint(d_path)
    with pytest.raises(ValueError, match=r"is not a StudioGAN discriminator file .*it looks like a StudioGAN generator file"):
        convert_studiogan_checkpoint(g_path, discriminator=g_path)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"PK\x03\x04 but not a zip")
    with pytest.raises(ValueError, match=r"Could not read .*junk\.pth.*expected a StudioGAN generator file"):
        convert_studiogan_checkpoint(junk)
    torch.save({"weights": g_state}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="other.pth is not a StudioGAN generator file .*: it has no 'state_dict'"):
        convert_studiogan_checkpoint(tmp_path / "other.pth")
    _, d64 = _states(64, 10, "onehot_linear")
    _, d64_path = save_studiogan_files(tmp_path / "d64", g_state, d64)
    with pytest.raises(ValueError, match=r"the discriminator has 5 residual blocks; StudioGAN's 32x32 one has 4"):
        convert_studiogan_checkpoint(g_path, discriminator=d64_path)
    broken = dict(g_state)
    del broken["blocks.0.0.bn2.gain.weight_u"]
    broken["blocks.0.0.bn2.bias.weight_orig"] = torch.zeros(16, 7)
    broken_path, _ = save_studiogan_files(tmp_path / "broken", broken)
    with pytest.raises(ValueError) as error:
        convert_studiogan_checkpoint(broken_path)
    message = str(error.value)
    assert "does not match the expected StudioGAN layout" in message
    assert "missing keys: blocks.0.0.bn2.gain.weight_u" in message
    assert "blocks.0.0.bn2.bias.weight_orig: expected shape (16, 10), found (16, 7)" in message
    assert _run_script("--generator", g_path, "--output_dir", tmp_path / "o", "--fold_power_iterations", "-2") == 2
    assert capsys.readouterr().err.strip() == "error: fold_power_iterations must be an integer >= 0, got -2"

"""Standing statistics: fresh BatchNorm averages for a generator, the weights left alone, seeded."""

import json

import pytest
import torch

from sagan_hf.cli import evaluate as evaluate_command
from sagan_hf.cli import sample as sample_command
from sagan_hf.evaluation import weights as weights_module
from sagan_hf.evaluation.weights import sha256_of_file
from sagan_hf.models import SAGANGenerator
from sagan_hf.pipelines import SAGANPipeline, recompute_batchnorm_statistics
from sagan_hf.pipelines.pipeline_sagan import sample_class_labels, sample_latents


def _pipeline():
    torch.manual_seed(0)
    generator = SAGANGenerator(sample_size=16, num_classes=3, z_dim=8, ch=8, channel_multipliers=(2, 2, 1),
                               attention_resolutions=(8,)).eval()
    return SAGANPipeline(generator=generator)


def _statistics(pipeline):
    return {key: value.clone() for key, value in pipeline.generator.state_dict().items()
            if key.endswith(("running_mean", "running_var"))}


def _everything_else(pipeline):
    return {key: value.clone() for key, value in pipeline.generator.state_dict().items()
            if not key.endswith(("running_mean", "running_var", "num_batches_tracked"))}


def test_statistics_change_weights_do_not_and_the_seed_decides():
    pipeline = _pipeline()
    before_stats, before_rest = _statistics(pipeline), _everything_else(pipeline)
    momenta = [m.momentum for m in pipeline.generator.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    recompute_batchnorm_statistics(pipeline, num_batches=3, batch_size=8, seed=5)
    after = _statistics(pipeline)
    assert all(not torch.allclose(after[key], before_stats[key]) for key in after)
    rest = _everything_else(pipeline)
    assert all(torch.equal(rest[key], before_rest[key]) for key in rest)  # weights, u, v: untouched
    assert not pipeline.generator.training
    assert [m.momentum for m in pipeline.generator.modules() if isinstance(m, torch.nn.BatchNorm2d)] == momenta

    # the first BatchNorm sees linear(z) directly: its mean is the average of the batches' channel means
    random = torch.Generator().manual_seed(5)
    means = []
    with torch.no_grad():
        for _ in range(3):
            z = sample_latents(8, 8, random, None)
            sample_class_labels(8, 3, random)
            h = pipeline.generator.linear(z).view(8, -1, 4, 4)
            means.append(h.mean(dim=(0, 2, 3)))
    assert torch.allclose(after["blocks.0.norm1.bn.running_mean"], torch.stack(means).mean(0), atol=1e-5)

    again = recompute_batchnorm_statistics(_pipeline(), num_batches=3, batch_size=8, seed=5)
    assert all(torch.equal(_statistics(again)[key], after[key]) for key in after)
    other = recompute_batchnorm_statistics(_pipeline(), num_batches=3, batch_size=8, seed=6)
    assert not torch.allclose(_statistics(other)["out_norm.running_var"], after["out_norm.running_var"])


def test_bad_requests_are_refused():
    with pytest.raises(ValueError, match="num_batches must be a positive integer, got 0"):
        recompute_batchnorm_statistics(_pipeline(), num_batches=0)
    with pytest.raises(ValueError, match=r"batch_size must be an integer >= 2"):
        recompute_batchnorm_statistics(_pipeline(), batch_size=1)


def test_sample_and_evaluate_commands_take_the_flag(tmp_path, monkeypatch):
    from inception_weights import save_random_inception_weights

    folder = tmp_path / "pipe"
    _pipeline().save_pretrained(folder)
    assert sample_command.main(["--pipeline", str(folder), "--output_dir", str(tmp_path / "samples"), "--per_class", "1",
                                "--no-attention_maps", "--standing_statistics", "2", "--device", "cpu"]) == 0
    assert (tmp_path / "samples").is_dir() and any((tmp_path / "samples").iterdir())

    weights = save_random_inception_weights(tmp_path / "inception.pth", seed=1)
    monkeypatch.setattr(weights_module, "WEIGHTS_SHA256", sha256_of_file(weights))
    output = tmp_path / "report.json"
    assert evaluate_command.main(["--pipeline", str(folder), "--num_samples", "2", "--metrics", "is", "--batch_size", "2",
                                  "--is_splits", "1", "--standing_statistics", "2", "--output", str(output),
                                  "--inception_weights", str(weights), "--device", "cpu", "--no_progress"]) == 0
    assert json.loads(output.read_text())["standing_statistics"] == {"batches": 2, "batch_size": 2}

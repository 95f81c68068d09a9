"""Training configuration: paper defaults, presets, flag precedence, clear errors."""

import pytest

from sagan_hf.cli.train import build_parser, config_from_args
from sagan_hf.training.config import PRESETS, TrainConfig, make_config
from sagan_hf.training.trainer import resolve_train_batch_size


def test_defaults_are_the_paper_recipe():
    c = TrainConfig()
    assert (c.learning_rate_g, c.learning_rate_d, c.adam_beta1, c.adam_beta2) == (1e-4, 4e-4, 0.0, 0.999)
    assert (c.n_dis, c.global_batch_size, c.ch, c.resolution, c.z_dim, c.init) == (1, 256, 64, 128, 128, "xavier")
    assert c.g_attention_resolutions == c.d_attention_resolutions == (64,)
    assert c.ema_decay == 0.9999


def test_imagenet_preset_splits_256_over_processes():
    c = config_from_args(["--preset", "imagenet128"])
    assert c.dataset_name == "ILSVRC/imagenet-1k" and c.max_train_steps == 1_000_000
    assert resolve_train_batch_size(c, 8) == 32 and resolve_train_batch_size(c, 1) == 256
    with pytest.raises(ValueError, match="does not split evenly"):
        resolve_train_batch_size(c, 3)
    accumulated = config_from_args(["--preset", "imagenet128", "--gradient_accumulation_steps", "2"])
    assert resolve_train_batch_size(accumulated, 4) == 32


def test_explicit_flags_override_the_preset_and_only_those():
    demo = PRESETS["shapes-demo"]
    c = config_from_args(["--preset", "shapes-demo", "--ch", "32", "--attention_resolutions", "8,16",
                          "--learning_rate_d", "4e-4", "--no-ema_warmup", "--train_data_dir", "/data"])
    assert c.ch == 32 and c.learning_rate_d == 4e-4 and c.ema_warmup is False
    assert c.g_attention_resolutions == c.d_attention_resolutions == (8, 16)
    assert c.learning_rate_g == demo["learning_rate_g"] and c.z_dim == demo["z_dim"]  # untouched preset values
    assert c.train_data_dir == "/data" and c.dataset_name is None
    assert config_from_args(["--attention_resolutions", "none"]).g_attention_resolutions == ()
    g_only = config_from_args(["--g_attention_resolutions", "32"])
    assert g_only.g_attention_resolutions == (32,) and g_only.d_attention_resolutions == (64,)


def test_demo_preset_help_says_where_it_departs_from_the_paper():
    text = build_parser().format_help()
    assert "shapes-demo" in text and "departs from the paper" in text and "1e-3" in text
    for flag in ("--output_dir", "--train_batch_size", "--max_train_steps", "--checkpointing_steps",
                 "--checkpoints_total_limit", "--resume_from_checkpoint", "--mixed_precision", "--report_to",
                 "--validation_steps", "--gradient_accumulation_steps", "--dataloader_num_workers",
                 "--logging_steps", "--max_train_seconds", "--compile", "--channels_last", "--push_to_hub",
                 "--hub_model_id", "--eval_steps", "--n_dis"):
        assert flag in text, flag


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(ch=0), "ch must be a positive integer"),
        (dict(learning_rate_g=-1.0), "learning_rate_g must be a number > 0"),
        (dict(adam_beta2=1.0), r"adam_beta2 must be a number in \[0, 1\)"),
        (dict(ema_decay=1.5), "ema_decay"),
        (dict(mixed_precision="fp16"), "bf16"),
        (dict(mixed_precision="fp8"), "mixed_precision must be one of"),
        (dict(report_to="nope"), "report_to"),
        (dict(push_to_hub=True), "hub_model_id"),
        (dict(eval_steps=10), "eval_reference"),
        (dict(train_batch_size=None, global_batch_size=None), "train_batch_size"),
        (dict(dataset_name="x", train_data_dir="y"), "either dataset_name or train_data_dir"),
        (dict(max_train_seconds=0), "max_train_seconds"),
        (dict(bogus=1), "unknown training settings"),
    ],
)
def test_bad_values_are_clear_errors(overrides, message):
    with pytest.raises(ValueError, match=message):
        make_config(**overrides)


def test_bad_flags_exit_with_usage(capsys):
    with pytest.raises(SystemExit):
        config_from_args(["--attention_resolutions", "6x4"])
    assert "comma list" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        config_from_args(["--preset", "nope"])


def test_fp16_from_accelerate_config_or_environment_is_refused(monkeypatch, tmp_path):
    from sagan_hf.training.config import make_config
    from sagan_hf.training.trainer import make_accelerator

    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "fp16")  # what `accelerate launch --mixed_precision fp16` sets
    config = make_config("shapes-tiny", output_dir=str(tmp_path))
    assert config.mixed_precision is None  # not given on our command line
    with pytest.raises(ValueError, match="fp16 mixed precision is not supported"):
        make_accelerator(config)


def test_the_best_fid_of_an_earlier_run_is_kept_on_resume(tmp_path):
    import json

    from sagan_hf.training.periodic_eval import PeriodicEvaluator

    best = tmp_path / "best"
    best.mkdir()
    (best / "eval_report.json").write_text(json.dumps({"metrics": {"fid": 12.5}}))
    evaluator = PeriodicEvaluator(reference="ref.npz", num_samples=10, batch_size=5, seed=0, inception_weights=None,
                                  output_dir=tmp_path, device="cpu")
    assert evaluator.best_fid == 12.5
    fresh = PeriodicEvaluator(reference="ref.npz", num_samples=10, batch_size=5, seed=0, inception_weights=None,
                              output_dir=tmp_path / "new", device="cpu")
    assert fresh.best_fid == float("inf")

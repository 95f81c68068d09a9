"""The training loop in one process: outputs, exact resume, pruning, time budget, NaN stop."""

import copy
import json
import math

import pytest
import torch
from safetensors.torch import load_file

from sagan_hf.pipelines import SAGANPipeline
from sagan_hf.training import train_step as train_step_module
from sagan_hf.training.checkpointing import list_checkpoints
from sagan_hf.training.trainer import NonFiniteTrainingError, train
from test_train_step import one_torch_thread, tiny_config, write_training_shards  # noqa: F401 (fixture)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_training_shards(tmp_path_factory.mktemp("shards"))


def _tensorboard_installed() -> bool:
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return False
    return True


TENSORBOARD = _tensorboard_installed()
needs_tensorboard = pytest.mark.skipif(
    not TENSORBOARD, reason="tensorboard is not installed (pip install 'sagan-hf[tensorboard]')")


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, data_dir):
    """One 4-step run, logged to tensorboard when it is installed; returns (output_dir, result)."""
    out = tmp_path_factory.mktemp("finished") / "run"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = train(tiny_config(out, data_dir, report_to="tensorboard" if TENSORBOARD else "none"))
    finally:
        torch.set_num_threads(threads)
    return out, result


def test_a_run_writes_checkpoints_pipeline_samples_and_config(finished_run):
    out, result = finished_run
    assert result.global_step == 4 and not result.stopped_by_time_budget
    assert [step for step, _ in list_checkpoints(out)] == [2, 4]
    checkpoint = out / "checkpoint-4"
    for name in ("model.safetensors", "model_1.safetensors", "optimizer.bin", "optimizer_1.bin",
                 "random_states_0.pkl", "custom_checkpoint_0.pkl", "custom_checkpoint_1.pkl", "data_state_rank0.json"):
        assert (checkpoint / name).is_file(), name
    assert not list(out.glob(".tmp-*"))
    assert sorted(p.name for p in (out / "samples").glob("*.png")) == ["step_00000002.png", "step_00000004.png"]

    record = json.loads((out / "train_config.json").read_text())
    assert record["global_step"] == 4 and record["num_processes"] == 1 and record["hardware"]
    assert record["train_time_seconds"] > 0 and record["preset"] == "shapes-tiny" and record["num_classes"] == 4
    # The speed defaults as resolved on this device (a CPU, 32 px): explicit attention, channels_last.
    assert record["attention_implementation"] == "explicit" and record["attention_implementation_requested"] == "auto"
    assert record["channels_last"] is True and record["channels_last_requested"] is None

    pipe = SAGANPipeline.from_pretrained(out)
    assert pipe.discriminator is not None
    images = pipe(class_labels=[0, 3], generator=torch.Generator().manual_seed(0), output_type="pt").images
    assert images.shape == (2, 3, 32, 32) and torch.isfinite(images).all()
    # The saved generator is the EMA one from the last checkpoint, not the live generator.
    ema_state = torch.load(checkpoint / "custom_checkpoint_0.pkl", weights_only=False)["model"]
    live = load_file(checkpoint / "model.safetensors")
    saved = pipe.generator.state_dict()
    name = "blocks.0.conv1.parametrizations.weight.original"
    assert torch.equal(saved[name], ema_state[name]) and not torch.equal(saved[name], live[name])


@needs_tensorboard
def test_a_run_logs_losses_gammas_rates_and_the_validation_grid_to_tensorboard(finished_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out, _ = finished_run
    events = list((out / "logs").rglob("events.out.tfevents.*"))
    assert events, "nothing logged to tensorboard"
    logged = EventAccumulator(str(events[0].parent))
    logged.Reload()
    scalars = set(logged.Tags()["scalars"])
    assert {"d_loss", "g_loss", "d_real", "d_fake", "gamma/G_16", "gamma/D_16", "lr/G", "lr/D",
            "images_per_second", "skipped_images"} <= scalars, scalars
    assert [event.step for event in logged.Scalars("d_loss")] == [1, 2, 3, 4]
    assert logged.Tags()["images"], "validation grid not logged"


def _weights(run_dir, step):
    checkpoint = run_dir / f"checkpoint-{step}"
    tensors = load_file(checkpoint / "model.safetensors") | {
        "D." + k: v for k, v in load_file(checkpoint / "model_1.safetensors").items()
    }
    ema = torch.load(checkpoint / "custom_checkpoint_0.pkl", weights_only=False)["model"]
    return tensors | {"EMA." + k: v for k, v in ema.items()}


def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path, data_dir):
    straight, split = tmp_path / "straight", tmp_path / "split"
    train(tiny_config(straight, data_dir, max_train_steps=4))
    train(tiny_config(split, data_dir, max_train_steps=2))
    result = train(tiny_config(split, data_dir, max_train_steps=4, resume_from_checkpoint="latest"))
    assert result.global_step == 4
    a, b = _weights(straight, 4), _weights(split, 4)
    assert a.keys() == b.keys()
    # D's weights depend on the real batches: equal weights mean the resumed stream continued where it was.
    for name in a:
        assert torch.equal(a[name], b[name]), f"{name} differs after resume"
    # Resuming a finished run does nothing more.
    assert train(tiny_config(split, data_dir, max_train_steps=4, resume_from_checkpoint="latest")).global_step == 4


def test_old_checkpoints_are_pruned_and_time_budget_stops_cleanly(tmp_path, data_dir):
    out = tmp_path / "run"
    result = train(tiny_config(out, data_dir, max_train_steps=6, checkpoints_total_limit=2, validation_steps=100))
    assert [step for step, _ in list_checkpoints(out)] == [4, 6]
    budget = train(tiny_config(tmp_path / "budget", data_dir, max_train_steps=1000, max_train_seconds=0.01,
                               checkpointing_steps=500))
    assert budget.stopped_by_time_budget and budget.global_step < 1000
    assert [step for step, _ in list_checkpoints(tmp_path / "budget")] == [budget.global_step]
    assert (tmp_path / "budget" / "model_index.json").is_file()
    assert result.global_step == 6


def test_resume_from_an_explicit_path_and_a_bad_path(tmp_path, data_dir):
    out = tmp_path / "run"
    train(tiny_config(out, data_dir, max_train_steps=2))
    result = train(tiny_config(tmp_path / "other", data_dir, max_train_steps=3,
                               resume_from_checkpoint=str(out / "checkpoint-2")))
    assert result.global_step == 3
    # Resuming into another folder at the final step still leaves a checkpoint and a pipeline there.
    copy = train(tiny_config(tmp_path / "copy", data_dir, max_train_steps=2,
                             resume_from_checkpoint=str(out / "checkpoint-2")))
    assert copy.global_step == 2 and (tmp_path / "copy" / "checkpoint-2").is_dir()
    assert (tmp_path / "copy" / "model_index.json").is_file()
    with pytest.raises(ValueError, match="resume_from_checkpoint"):
        train(tiny_config(out, data_dir, resume_from_checkpoint=str(tmp_path / "missing")))


def test_repeated_nan_losses_stop_the_run_and_keep_the_last_good_checkpoint(tmp_path, data_dir, monkeypatch):
    real_loss = train_step_module.discriminator_hinge_loss
    calls = {"n": 0}

    def loss_turning_nan(real_logits, fake_logits):
        calls["n"] += 1
        loss = real_loss(real_logits, fake_logits)
        return loss * float("nan") if calls["n"] > 2 else loss  # NaN from step 3 on

    monkeypatch.setattr(train_step_module, "discriminator_hinge_loss", loss_turning_nan)
    out = tmp_path / "run"
    with pytest.raises(NonFiniteTrainingError, match="3 steps in a row.*checkpoint-4"):
        train(tiny_config(out, data_dir, max_train_steps=20, max_nonfinite_steps=3, checkpointing_steps=2))
    assert [step for step, _ in list_checkpoints(out)] == [2, 4]
    # D's updates of steps 3 and 4 were skipped: its weights in checkpoint-4 are those of checkpoint-2.
    d2, d4 = load_file(out / "checkpoint-2" / "model_1.safetensors"), load_file(out / "checkpoint-4" / "model_1.safetensors")
    for name in d2:
        if name.endswith("original") or name.endswith("bias"):
            assert torch.equal(d2[name], d4[name]), name


def test_push_to_hub_uploads_the_ema_pipeline_with_its_training_settings(tmp_path, data_dir, hub_server, monkeypatch):
    from huggingface_hub import HfApi, hf_hub_download
    from hub_server import LoopbackHubServer

    from sagan_hf.hub import HubTokenNotFoundError

    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(HubTokenNotFoundError):  # before any training step
        train(tiny_config(tmp_path / "no-token", data_dir, push_to_hub=True, hub_model_id="tester/never"))
    assert not (tmp_path / "no-token" / "checkpoint-2").exists()

    monkeypatch.setenv("HF_TOKEN", LoopbackHubServer.VALID_TOKEN)
    repo_id = "tester/sagan-from-trainer"
    train(tiny_config(tmp_path / "run", data_dir, max_train_steps=2, push_to_hub=True, hub_model_id=repo_id))
    files = {s.rfilename for s in HfApi().model_info(repo_id).siblings}
    assert {"model_index.json", "README.md", "generator/config.json", "discriminator/config.json"} <= files
    card = open(hf_hub_download(repo_id, "README.md")).read()
    # The card records this run's own settings (its train_config.json), each in its table row.
    for row in ("| Steps trained | 2 |", "| Batch size per process | 4 |", "| Processes | 1 |",
                "| Learning rate, generator | 0.0001 |", "| Learning rate, discriminator | 0.0004 |",
                "| `preset` | shapes-tiny |"):
        assert row in card, f"{row!r} not in the card:\n{card}"
    # The uploaded generator is the EMA generator the run saved, not the live one.
    remote = SAGANPipeline.from_pretrained(repo_id, cache_dir=tmp_path / "hub_cache").generator.state_dict()
    saved = SAGANPipeline.from_pretrained(tmp_path / "run").generator.state_dict()
    assert remote.keys() == saved.keys() and all(torch.equal(remote[k], saved[k]) for k in saved)


@pytest.mark.slow
def test_periodic_evaluation_scores_with_inception_and_keeps_the_best_pipeline_by_fid(tmp_path, data_dir, monkeypatch):
    # The real evaluation (samples of the EMA generator, Inception features, FID against a reference
    # .npz) with random Inception weights declared standard for this test: real scores, meaningless values.
    from inception_weights import save_random_inception_weights

    from sagan_hf.data import DataOptions
    from sagan_hf.evaluation import compute_reference_stats, load_inception_extractor
    from sagan_hf.evaluation import weights as weights_module
    from sagan_hf.evaluation.weights import sha256_of_file
    from sagan_hf.training.periodic_eval import PeriodicEvaluator

    weights = save_random_inception_weights(tmp_path / "inception.pth", seed=0)
    monkeypatch.setattr(weights_module, "WEIGHTS_SHA256", sha256_of_file(weights))
    reference = compute_reference_stats(
        load_inception_extractor(weights, device="cpu"), resolution=32, batch_size=4, max_images=4,
        data=DataOptions(train_data_dir=str(data_dir), shuffle_buffer_size=0), progress=False,
        keep_features=True,  # lets the FID of a few samples be computed in sample space (fast, exact)
    )
    reference.save(tmp_path / "ref.npz")

    evaluations = []  # (step, report, tracker values) of each real evaluation, recorded around it
    earlier = {}  # step -> (copy of the pipeline scored then, its FID)
    real_call = PeriodicEvaluator.__call__

    def recording_call(self, pipeline, step):
        if step == 6:  # score the worse of the two earlier models again: best/ must keep the better one
            pipeline = max(earlier.values(), key=lambda scored: scored[1])[0]
        else:
            pipeline = copy.deepcopy(pipeline)
        scores = real_call(self, pipeline, step)
        earlier[step] = (pipeline, self.last_report["metrics"]["fid"])
        evaluations.append((step, self.last_report, scores))
        return scores

    monkeypatch.setattr(PeriodicEvaluator, "__call__", recording_call)
    out = tmp_path / "run"
    train(tiny_config(out, data_dir, max_train_steps=6, eval_steps=2, eval_num_samples=4, eval_batch_size=4,
                      eval_reference=str(tmp_path / "ref.npz"), inception_weights=str(weights)))
    assert [step for step, _, _ in evaluations] == [2, 4, 6]
    fids = [report["metrics"]["fid"] for _, report, _ in evaluations]
    assert all(math.isfinite(fid) and fid > 0 for fid in fids) and fids[0] != fids[1], fids
    assert fids[2] == max(fids[:2]), fids  # the same model, the same samples: the same score
    assert all(report["num_samples"] == 4 and report["standard_weights"] for _, report, _ in evaluations)
    assert [scores["eval/fid"] for _, _, scores in evaluations] == fids  # what the trackers are given
    best_step = (2, 4)[fids.index(min(fids[:2]))]
    saved = json.loads((out / "best" / "eval_report.json").read_text())
    assert saved["step"] == best_step and saved["metrics"]["fid"] == min(fids)
    # best/ holds the EMA generator of that step, the one its checkpoint recorded.
    ema = torch.load(out / f"checkpoint-{best_step}" / "custom_checkpoint_0.pkl", weights_only=False)["model"]
    best = SAGANPipeline.from_pretrained(out / "best").generator.state_dict()
    assert ema.keys() == best.keys() and all(torch.equal(best[k], ema[k]) for k in ema)


def test_data_without_labels_trains_an_unconditional_model(tmp_path):
    data = write_training_shards(tmp_path / "unlabelled", num_images=16, num_shards=1, with_labels=False)
    out = tmp_path / "run"
    train(tiny_config(out, data, max_train_steps=2))
    pipe = SAGANPipeline.from_pretrained(out)
    assert pipe.generator.config.num_classes == 0 and pipe.discriminator.config.num_classes == 0
    assert pipe(batch_size=2, output_type="pt").images.shape == (2, 3, 32, 32)


@pytest.mark.slow
def test_compiled_training_checkpoints_and_resumes(tmp_path, data_dir):
    # The "eager" backend traces G and D through dynamo (spectral-norm parametrisations included) and wraps
    # them as torch.compile does, without AOT autograd or C++ kernels: the compile + checkpoint + resume
    # path (wrapped modules, unwrapped state) stays cheap to test. Inductor's numbers: test_perf_paths.py.
    out = tmp_path / "compiled"
    options = dict(compile=True, compile_backend="eager", checkpointing_steps=2)
    assert train(tiny_config(out, data_dir, max_train_steps=2, **options)).global_step == 2
    result = train(tiny_config(out, data_dir, max_train_steps=3, resume_from_checkpoint="latest", **options))
    assert result.global_step == 3
    assert [step for step, _ in list_checkpoints(out)][-1] == 3
    saved = _weights(out, 3)
    assert not any("_orig_mod" in name for name in saved)  # saved unwrapped, loadable without compile
    pipe = SAGANPipeline.from_pretrained(out)
    images = pipe(class_labels=[0, 1], generator=torch.Generator().manual_seed(0), output_type="pt").images
    assert torch.isfinite(images).all()


def test_a_new_run_into_a_folder_with_checkpoints_is_refused(tmp_path, data_dir):
    out = tmp_path / "run"
    train(tiny_config(out, data_dir, max_train_steps=2))
    with pytest.raises(ValueError, match="already holds checkpoints .* --resume_from_checkpoint latest"):
        train(tiny_config(out, data_dir, max_train_steps=4))
    assert [step for step, _ in list_checkpoints(out)] == [2]  # nothing of the old run was touched


def test_a_kill_inside_the_pipeline_export_loses_no_pipeline_part(tmp_path):
    from sagan_hf.training.checkpointing import remove_stale_temporaries

    # The state a kill leaves between "move the old generator aside" and "move the new one in".
    out = tmp_path / "run"
    (out / ".tmp-pipeline-old" / "generator").mkdir(parents=True)
    (out / ".tmp-pipeline-old" / "generator" / "config.json").write_text("{}")
    (out / ".tmp-pipeline" / "generator").mkdir(parents=True)
    (out / "discriminator").mkdir()
    remove_stale_temporaries(out)
    assert (out / "generator" / "config.json").read_text() == "{}"
    assert (out / "discriminator").is_dir()
    assert not list(out.glob(".tmp-*"))

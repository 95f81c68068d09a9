"""The SAGAN training step: real updates, gradient accumulation, EMA, NaN handling.

Also holds the small helpers (tiny parquet shards, tiny configs) the other test_train_* files import.
"""

import copy
import io
from pathlib import Path

import datasets
import numpy as np
import pytest
import torch
from accelerate import Accelerator
from PIL import Image

from sagan_hf.training.config import make_config
from sagan_hf.training.ema import GeneratorEMA
from sagan_hf.training.train_step import SAGANTrainStep, make_adam
from sagan_hf.training.trainer import build_models

NUM_CLASSES = 4


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny nets run faster on one thread, and far faster when other processes share the 2 cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def write_training_shards(folder: Path, num_images: int = 48, num_shards: int = 4, seed: int = 0,
                          with_labels: bool = True) -> Path:
    """Parquet shards of distinct random 32 px PNG images with a ClassLabel column (unless with_labels=False)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    features = datasets.Features(
        {"image": datasets.Image(), "label": datasets.ClassLabel(names=[f"class{i}" for i in range(NUM_CLASSES)])}
    )
    for shard, ids in enumerate(np.array_split(np.arange(num_images), num_shards)):
        images = []
        for _ in ids:
            buffer = io.BytesIO()
            Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(buffer, format="PNG")
            images.append({"bytes": buffer.getvalue(), "path": None})
        table = datasets.Dataset.from_dict(
            {"image": images, "label": [int(i) % NUM_CLASSES for i in ids]}, features=features
        )
        if not with_labels:
            table = table.remove_columns("label")
        table.to_parquet(str(folder / f"train-{shard:05d}-of-{num_shards:05d}.parquet"))
    return folder


def tiny_config(output_dir, data_dir, **overrides):
    """shapes-tiny nets on the test's own shards, no shuffle buffer (exact resume), no tracker."""
    values = dict(
        output_dir=str(output_dir), train_data_dir=str(data_dir), train_batch_size=4, shuffle_buffer_size=0,
        max_train_steps=4, logging_steps=1, validation_steps=2, checkpointing_steps=2,
        validation_images_per_class=2, report_to="none",
    )
    values.update(overrides)
    return make_config("shapes-tiny", **values)


def _setup(optimizer="adam", accumulation=1, n_dis=1, lr=1e-3, ema=False, seed=0):
    torch.manual_seed(seed)
    G, D = build_models(make_config("shapes-tiny"), NUM_CLASSES)
    accelerator = Accelerator(cpu=True)
    if optimizer == "adam":
        opt_g, opt_d = make_adam(G.parameters(), lr, (0.0, 0.999), 1e-8), make_adam(D.parameters(), lr, (0.0, 0.999), 1e-8)
    else:
        opt_g, opt_d = torch.optim.SGD(G.parameters(), lr=lr), torch.optim.SGD(D.parameters(), lr=lr)
    G, D, opt_g, opt_d = accelerator.prepare(G, D, opt_g, opt_d)
    average = GeneratorEMA(G, decay=0.9, warmup=False) if ema else None
    step = SAGANTrainStep(
        accelerator, G, D, opt_g, opt_d, z_dim=G.config.z_dim, num_classes=NUM_CLASSES, n_dis=n_dis,
        gradient_accumulation_steps=accumulation, ema=average,
    )
    return step, G, D


def _batch(size, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return {
        "pixel_values": torch.rand(size, 3, 32, 32, generator=generator) * 2 - 1,
        "class_labels": torch.randint(0, NUM_CLASSES, (size,), generator=generator),
    }


def _snapshot(model):
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def test_real_steps_change_both_nets_and_keep_losses_finite():
    step, G, D = _setup(ema=True)
    g0, d0 = _snapshot(G), _snapshot(D)
    for i in range(3):
        metrics = step(_batch(4, seed=i), i + 1)
        assert all(v.requires_grad is False for v in metrics.values())
        assert all(bool(torch.isfinite(v)) for v in metrics.values())
        assert metrics["skipped"].item() == 0
    assert sorted(metrics) == sorted(
        ["d_loss", "d_real", "d_fake", "d_grad_norm", "d_skipped", "g_loss", "g_grad_norm", "g_skipped", "skipped"]
    )
    for before, model in ((g0, G), (d0, D)):
        changed = [name for name, p in model.named_parameters() if not torch.equal(before[name], p.detach())]
        assert len(changed) > len(before) // 2, f"only {len(changed)} of {len(before)} tensors moved"
    # D's hinge loss is bounded below by 0 and starts near 2 (logits near 0).
    assert 0.0 <= metrics["d_loss"].item() < 4.0
    # The EMA moved away from the initial generator but is not the live one.
    ema_params = dict(step.ema.model.named_parameters())
    name = next(n for n in g0 if not torch.equal(g0[n], dict(G.named_parameters())[n].detach()))
    assert not torch.equal(ema_params[name], g0[name])
    assert not torch.equal(ema_params[name], dict(G.named_parameters())[name].detach())
    # EMA buffers (BN statistics, SN vectors) are copies of the live generator's.
    for (n, b_ema), (_, b) in zip(step.ema.model.named_buffers(), G.named_buffers()):
        assert torch.equal(b_ema, b), n


def test_d_params_get_no_gradient_in_the_g_step_and_stay_trainable():
    step, G, D = _setup()
    step(_batch(4), 1)
    # After the G step, D's grads are those of its own step (the G step froze it) and it is trainable again.
    assert all(p.requires_grad for p in D.parameters())
    d_grads = {n: p.grad.clone() for n, p in D.named_parameters() if p.grad is not None}
    step.generator_step(4)
    assert all(torch.equal(d_grads[n], p.grad) for n, p in D.named_parameters() if n in d_grads)


@pytest.mark.parametrize("n_dis", [1, 2])
def test_gradient_accumulation_equals_the_full_batch(n_dis):
    # Deterministic case: eval mode (BatchNorm running statistics, no power-iteration update) and SGD,
    # whose update is linear in the gradient. 2 micro-batches of 4 must equal one batch of 8.
    results = []
    for accumulation in (1, 2):
        step, G, D = _setup(optimizer="sgd", accumulation=accumulation, n_dis=n_dis, lr=0.05)
        G.eval(), D.eval()
        full = [_batch(8, seed=10 + i) for i in range(n_dis)]
        if accumulation == 1:
            batches = full
        else:
            batches = [
                {k: v[half * 4:(half + 1) * 4] for k, v in b.items()} for b in full for half in range(2)
            ]
        torch.manual_seed(123)  # the same latents: drawn for the whole update at once
        metrics = step(batches, 1)
        grads = {n: p.grad.clone() for n, p in list(G.named_parameters()) + list(D.named_parameters())}
        results.append((metrics, _snapshot(G), _snapshot(D), grads))
    (m1, g1, d1, grads1), (m2, g2, d2, grads2) = results
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        torch.testing.assert_close(m1[key], m2[key], rtol=1e-4, atol=1e-5)
    for name in grads1:
        torch.testing.assert_close(grads1[name], grads2[name], rtol=1e-4, atol=1e-6, msg=name)
    for a, b in ((g1, g2), (d1, d2)):
        for name in a:
            torch.testing.assert_close(a[name], b[name], rtol=1e-5, atol=1e-6, msg=name)
    # And the nets did move: the comparison is not between two untouched models.
    assert any(grads1[n].abs().sum() > 0 for n in grads1 if "gain" in n)


def test_wrong_number_of_batches_is_a_clear_error():
    step, _, _ = _setup(accumulation=2)
    with pytest.raises(ValueError, match="expected 2 real batches"):
        step([_batch(4)], 1)


def test_a_nan_loss_skips_the_update_on_the_device_and_is_counted():
    step, G, D = _setup()
    step(_batch(4), 1)
    d_before = _snapshot(D)
    adam_steps = [s["step"].clone() for s in step.optimizer_d.optimizer.state.values()]
    bad = _batch(4)
    bad["pixel_values"][0, 0, 0, 0] = float("nan")
    for i in range(3):
        metrics = step(bad, 2 + i)
        assert metrics["d_skipped"].item() == 1 and metrics["skipped"].item() == 1
        assert metrics["g_skipped"].item() == 0  # G's loss does not see the real batch
    for name, p in D.named_parameters():
        assert torch.equal(d_before[name], p.detach()), f"{name} changed in a skipped step"
    assert [s["step"] for s in step.optimizer_d.optimizer.state.values()] == adam_steps
    assert step.read_and_reset_nonfinite() == (3, 3)
    step(_batch(4), 5)  # a good step ends the run of bad ones
    step(bad, 6)
    assert step.read_and_reset_nonfinite() == (1, 1)


def test_non_fused_optimisers_skip_too():
    step, G, D = _setup(optimizer="sgd")
    d_before = _snapshot(D)
    bad = _batch(4)
    bad["pixel_values"][:] = float("inf")
    assert step(bad, 1)["d_skipped"].item() == 1
    assert all(torch.equal(d_before[n], p.detach()) for n, p in D.named_parameters())


def test_ema_follows_the_model_before_start_step_then_averages():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    ema = GeneratorEMA(model, decay=0.5, start_step=2, warmup=False)
    with torch.no_grad():
        model[0].weight.fill_(1.0)
    model[1].running_mean.fill_(3.0)
    ema.update(model, step=1)  # before start_step: a copy
    assert torch.equal(ema.model[0].weight, model[0].weight)
    with torch.no_grad():
        model[0].weight.fill_(3.0)
    ema.update(model, step=3)  # 0.5 * 1 + 0.5 * 3
    assert torch.allclose(ema.model[0].weight, torch.full((2, 2), 2.0))
    assert torch.equal(ema.model[1].running_mean, model[1].running_mean)
    restored = GeneratorEMA(copy.deepcopy(model), decay=0.5, start_step=2, warmup=False)
    restored.load_state_dict(ema.state_dict())
    assert torch.equal(restored.model[0].weight, ema.model[0].weight) and restored.num_updates == 1
    warm = GeneratorEMA(model, decay=0.999, warmup=True)
    assert warm.current_decay(1) == pytest.approx(0.1) and warm.current_decay(0) == 0.0
    with pytest.raises(ValueError, match="decay"):
        GeneratorEMA(model, decay=1.0)

"""One SAGAN training iteration: `n_dis` discriminator steps, one generator step, one EMA update.

Usable on its own (the benchmarks call it) with models and optimisers that went through
`accelerator.prepare`. It never synchronises with the host: every metric comes back as a detached
device tensor, and a non-finite loss skips the optimiser update on the device (fused Adam's
`found_inf`), so the caller decides when to read them (every `--logging_steps`).
"""

from __future__ import annotations

import contextlib
from typing import Mapping, Sequence

import torch
from accelerate import Accelerator
from torch import nn

from .ema import GeneratorEMA
from .losses import discriminator_hinge_loss, generator_hinge_loss


def make_adam(params, lr: float, betas: tuple[float, float], eps: float) -> torch.optim.Adam:
    """Adam, fused when this torch supports it on the parameters' device (it can skip steps on device)."""
    params, betas = list(params), (float(betas[0]), float(betas[1]))
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, eps=eps, fused=True)
    except (RuntimeError, ValueError):
        return torch.optim.Adam(params, lr=lr, betas=betas, eps=eps, foreach=True)


def _inner_optimizer(optimizer) -> torch.optim.Optimizer:
    return getattr(optimizer, "optimizer", optimizer)  # accelerate's AcceleratedOptimizer wraps it


class SAGANTrainStep:
    """Callable doing one training iteration; returns a dict of detached metric tensors.

    Args:
        accelerator: the Accelerator the models and optimisers were prepared with.
        generator, discriminator: the prepared (possibly DDP-wrapped or compiled) networks.
        optimizer_g, optimizer_d: their prepared optimisers.
        z_dim: latent size; num_classes: 0 for an unconditional model.
        n_dis: discriminator steps per generator step (each on its own real batch).
        gradient_accumulation_steps: micro-batches accumulated into each update of either net.
        ema: the generator EMA updated after each generator step (optional).
        channels_last: feed real images in channels_last format.

    Call it with `n_dis * gradient_accumulation_steps` real batches (dicts with `pixel_values`
    and `class_labels`), or one batch when both are 1, and the step number this iteration produces
    (it drives the EMA schedule).
    """

    def __init__(
        self,
        accelerator: Accelerator,
        generator: nn.Module,
        discriminator: nn.Module,
        optimizer_g,
        optimizer_d,
        *,
        z_dim: int,
        num_classes: int,
        n_dis: int = 1,
        gradient_accumulation_steps: int = 1,
        ema: GeneratorEMA | None = None,
        channels_last: bool = False,
    ):
        if n_dis < 1 or gradient_accumulation_steps < 1:
            raise ValueError(
                f"n_dis and gradient_accumulation_steps must be >= 1, got {n_dis} and {gradient_accumulation_steps}"
            )
        self.accelerator = accelerator
        self.generator = generator
        self.discriminator = discriminator
        self.optimizer_g = optimizer_g
        self.optimizer_d = optimizer_d
        self.z_dim = z_dim
        self.num_classes = num_classes
        self.n_dis = n_dis
        self.accumulation = gradient_accumulation_steps
        self.ema = ema
        self.channels_last = channels_last
        self.device = accelerator.device
        self.unwrapped_generator = accelerator.unwrap_model(generator, keep_torch_compile=False)
        self.d_params = [p for p in discriminator.parameters() if p.requires_grad]
        self.g_params = [p for p in generator.parameters() if p.requires_grad]
        # Device-side bookkeeping of skipped (non-finite) steps, read by the trainer when it logs.
        self.nonfinite_run = torch.zeros((), device=self.device)
        self.nonfinite_longest_run = torch.zeros((), device=self.device)
        self.nonfinite_total = torch.zeros((), device=self.device)

    # -- helpers -----------------------------------------------------------------------------------

    def _latents(self, count: int):
        z = torch.randn(count, self.z_dim, device=self.device)
        labels = torch.randint(0, self.num_classes, (count,), device=self.device) if self.num_classes else None
        return z, labels

    def _real(self, batch: Mapping[str, torch.Tensor]):
        images = batch["pixel_values"].to(self.device, non_blocking=True)
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        labels = batch["class_labels"].to(self.device, non_blocking=True) if self.num_classes else None
        return images, labels

    def _sync_context(self, model: nn.Module, micro_index: int):
        # DDP all-reduces gradients only on the last micro-batch of an accumulated update.
        if micro_index < self.accumulation - 1:
            return self.accelerator.no_sync(model)
        return contextlib.nullcontext()

    def _nonfinite_flag(self, loss_sum: torch.Tensor, params: list[torch.Tensor]):
        """1.0 when the loss or the (already all-reduced) gradients are not finite, else 0.0; and the grad norm."""
        grads = [p.grad for p in params if p.grad is not None]
        grad_norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads))) if grads else loss_sum.new_zeros(())
        bad = (~torch.isfinite(loss_sum)).float()
        if self.accelerator.num_processes > 1:
            # Losses are local: one rank's NaN must make every rank skip, or the replicas drift apart.
            bad = self.accelerator.reduce(bad, reduction="sum")
        bad = torch.maximum((bad > 0).float(), (~torch.isfinite(grad_norm)).float())
        return bad, grad_norm.detach()

    def _step_unless(self, optimizer, found_inf: torch.Tensor) -> None:
        """optimizer.step(), skipped when found_inf is 1; on the device for fused Adam, else via a host read."""
        inner = _inner_optimizer(optimizer)
        if getattr(inner, "_step_supports_amp_scaling", False) and inner.defaults.get("fused"):
            # Fused Adam reads these attributes (GradScaler's protocol): with found_inf=1 the kernel leaves
            # parameters, moments and step count untouched.
            inner.grad_scale, inner.found_inf = None, found_inf.to(torch.float32)
            try:
                optimizer.step()
            finally:
                del inner.grad_scale, inner.found_inf
        elif not bool(found_inf):
            optimizer.step()

    @staticmethod
    def _chunks(tensor, parts: int):
        return (None,) * parts if tensor is None else tensor.chunk(parts)

    # -- the iteration -----------------------------------------------------------------------------

    def discriminator_step(self, batches: Sequence[Mapping[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        """One D update from `gradient_accumulation_steps` real micro-batches (one D forward on real+fake each)."""
        G, D, k = self.generator, self.discriminator, self.accumulation
        self.optimizer_d.zero_grad(set_to_none=True)
        batch_size = batches[0]["pixel_values"].shape[0]
        # Latents of the whole update drawn at once: k micro-batches see exactly the numbers one batch of k*B would.
        z, fake_labels = self._latents(k * batch_size)
        z_parts, label_parts = z.chunk(k), self._chunks(fake_labels, k)
        loss_sum = torch.zeros((), device=self.device)
        real_sum = torch.zeros((), device=self.device)
        fake_sum = torch.zeros((), device=self.device)
        for i, batch in enumerate(batches):
            real, real_labels = self._real(batch)
            with self._sync_context(D, i):
                with torch.no_grad():
                    fake = G(z_parts[i], label_parts[i])
                labels = None if real_labels is None else torch.cat([real_labels, label_parts[i]])
                logits = D(torch.cat([real, fake.to(real.dtype)]), labels).float()
                real_logits, fake_logits = logits.split([real.shape[0], fake.shape[0]])
                loss = discriminator_hinge_loss(real_logits, fake_logits)
                self.accelerator.backward(loss / k)
            loss_sum += loss.detach()
            real_sum += real_logits.detach().mean()
            fake_sum += fake_logits.detach().mean()
        skipped, grad_norm = self._nonfinite_flag(loss_sum, self.d_params)
        self._step_unless(self.optimizer_d, skipped)
        return {
            "d_loss": loss_sum / k, "d_real": real_sum / k, "d_fake": fake_sum / k,
            "d_grad_norm": grad_norm, "d_skipped": skipped,
        }

    def generator_step(self, batch_size: int) -> dict[str, torch.Tensor]:
        """One G update through a frozen D, accumulated over `gradient_accumulation_steps` micro-batches."""
        G, D, k = self.generator, self.discriminator, self.accumulation
        self.optimizer_g.zero_grad(set_to_none=True)
        z, labels = self._latents(k * batch_size)
        z_parts, label_parts = z.chunk(k), self._chunks(labels, k)
        loss_sum = torch.zeros((), device=self.device)
        for p in self.d_params:  # no D gradients in the G step; no_sync keeps DDP from waiting for them
            p.requires_grad_(False)
        try:
            for i in range(k):
                with self._sync_context(G, i), self.accelerator.no_sync(D):
                    fake = G(z_parts[i], label_parts[i])
                    loss = generator_hinge_loss(D(fake, label_parts[i]))
                    self.accelerator.backward(loss / k)
                loss_sum += loss.detach()
        finally:
            for p in self.d_params:
                p.requires_grad_(True)
        skipped, grad_norm = self._nonfinite_flag(loss_sum, self.g_params)
        self._step_unless(self.optimizer_g, skipped)
        return {"g_loss": loss_sum / k, "g_grad_norm": grad_norm, "g_skipped": skipped}

    def __call__(self, real_batches, step: int) -> dict[str, torch.Tensor]:
        """Run one iteration; `step` is the global step this iteration completes (1-based)."""
        if isinstance(real_batches, Mapping):
            real_batches = [real_batches]
        needed = self.n_dis * self.accumulation
        if len(real_batches) != needed:
            raise ValueError(
                f"expected {needed} real batches (n_dis={self.n_dis} x gradient_accumulation_steps="
                f"{self.accumulation}), got {len(real_batches)}"
            )
        k = self.accumulation
        d_metrics = [self.discriminator_step(real_batches[i * k:(i + 1) * k]) for i in range(self.n_dis)]
        metrics = {key: torch.stack([m[key] for m in d_metrics]).mean() for key in d_metrics[0]}
        metrics["d_skipped"] = torch.stack([m["d_skipped"] for m in d_metrics]).amax()
        metrics.update(self.generator_step(real_batches[0]["pixel_values"].shape[0]))
        if self.ema is not None:
            self.ema.update(self.unwrapped_generator, step)
        skipped = torch.maximum(metrics["d_skipped"], metrics["g_skipped"])
        self.nonfinite_run = (self.nonfinite_run + 1.0) * skipped
        self.nonfinite_longest_run = torch.maximum(self.nonfinite_longest_run, self.nonfinite_run)
        self.nonfinite_total = self.nonfinite_total + skipped
        metrics["skipped"] = skipped
        return metrics

    def read_and_reset_nonfinite(self) -> tuple[int, int]:
        """(steps skipped since the last call, longest run of consecutive skipped steps in that span). Syncs."""
        total, longest = int(self.nonfinite_total.item()), int(self.nonfinite_longest_run.item())
        self.nonfinite_total.zero_()
        # A run still going keeps counting in nonfinite_run, so the next window sees its full length.
        self.nonfinite_longest_run.zero_()
        return total, longest

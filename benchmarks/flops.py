"""FLOP counts of the SAGAN nets and of one training iteration, and the hardware's matmul peak.

Counted with torch.utils.flop_counter.FlopCounterMode (2 FLOPs per multiply-add, convolutions,
matmuls and their backward passes) on meta-device copies of the models: shapes only, no arithmetic.
"""

from __future__ import annotations

import copy

import torch
from torch.utils.flop_counter import FlopCounterMode

from sagan_hf.models import set_attention_implementation


def _meta_copy(model):
    model = copy.deepcopy(model).to("meta")
    set_attention_implementation(model, "explicit")  # SDPA on meta is not counted as a matmul
    return model


def _inputs(generator, batch: int):
    z = torch.randn(batch, generator.config.z_dim, device="meta")
    num_classes = generator.config.num_classes
    labels = torch.zeros(batch, dtype=torch.long, device="meta") if num_classes else None
    return z, labels


def _count(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def count_flops(generator, discriminator, batch: int = 2) -> dict[str, float]:
    """GFLOP per image: G forward, D forward, and one training iteration counted two ways.

    `train_iteration_counted` runs the operations of SAGANTrainStep (G forward without grad; D forward
    and backward on real + fake; G forward, D forward and backward into G with D frozen, G backward).
    `train_iteration_convention` is the usual estimate: backward = 2 x forward everywhere, D step =
    G fwd + 2 x D fwd+bwd, G step = G fwd+bwd + D fwd+bwd, i.e. 4 G + 9 D per real image.
    """
    G, D = _meta_copy(generator), _meta_copy(discriminator)
    G.eval(), D.eval()
    z, labels = _inputs(G, batch)
    images = torch.zeros(batch, 3, G.config.sample_size, G.config.sample_size, device="meta")
    g_forward = _count(lambda: G(z, labels)) / batch
    d_forward = _count(lambda: D(images, labels)) / batch

    G.train(), D.train()
    both_labels = None if labels is None else torch.cat([labels, labels])

    def iteration():
        with torch.no_grad():
            fake = G(z, labels)
        D(torch.cat([images, fake]), both_labels).sum().backward()  # D step
        for p in D.parameters():
            p.requires_grad_(False)
        D(G(z, labels), labels).sum().backward()  # G step through a frozen D
        for p in D.parameters():
            p.requires_grad_(True)

    counted = _count(iteration) / batch
    return {
        "g_forward_gflop": g_forward / 1e9,
        "d_forward_gflop": d_forward / 1e9,
        "train_iteration_counted_gflop": counted / 1e9,
        "train_iteration_convention_gflop": (4 * g_forward + 9 * d_forward) / 1e9,
    }


def peak_matmul_flops(device: torch.device, size: int | None = None) -> dict[str, float]:
    """Measured FLOP/s of a large (`size` square; default per device) fp32 and bf16 matmul on `device`."""
    from measure import matmul_peak_flops

    from sagan_hf.training.assembly import cpu_has_native_bf16

    size = size or (8192 if device.type == "cuda" else 2048)
    # Emulated bf16 (a CPU without AVX-512 BF16 / AMX) runs at about 1 GFLOP/s: a smaller product suffices.
    bf16_size = size if device.type != "cpu" or cpu_has_native_bf16() else min(size, 512)
    return {
        "fp32_matmul_tflops": matmul_peak_flops(device, torch.float32, size) / 1e12,
        "bf16_matmul_tflops": matmul_peak_flops(device, torch.bfloat16, bf16_size) / 1e12,
    }

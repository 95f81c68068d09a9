"""Shared helpers for the Hub tests: a tiny SAGAN pipeline trained a few hinge-loss steps by hand."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

NUM_CLASSES = 5
SIDE = 32


def tiny_pipeline(seed: int = 0, with_discriminator: bool = True):
    """A 32 px, 5-class SAGAN pipeline (width 8, attention at 16x16) with freshly initialised weights."""
    from sagan_hf import SAGANDiscriminator, SAGANGenerator, SAGANPipeline

    torch.manual_seed(seed)
    kwargs = dict(sample_size=SIDE, num_classes=NUM_CLASSES, ch=8, attention_resolutions=(16,))
    generator = SAGANGenerator(z_dim=16, **kwargs)
    discriminator = SAGANDiscriminator(**kwargs) if with_discriminator else None
    return SAGANPipeline(generator=generator, discriminator=discriminator)


def train_steps(pipeline, steps: int = 1, seed: int = 0, batch: int = 2) -> None:
    """A few hinge-loss GAN steps on random "real" images, so the weights, spectral-norm vectors and
    BatchNorm statistics all differ from their initial values (as in a real checkpoint)."""
    g, d = pipeline.generator, pipeline.discriminator
    g.train(), d.train()
    rng = torch.Generator().manual_seed(seed)
    opt_g = torch.optim.Adam(g.parameters(), lr=1e-3, betas=(0.0, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=1e-3, betas=(0.0, 0.999))
    for _ in range(steps):
        real = torch.rand(batch, 3, SIDE, SIDE, generator=rng) * 2 - 1
        labels = torch.randint(0, NUM_CLASSES, (batch,), generator=rng)
        z = torch.randn(batch, g.config.z_dim, generator=rng)
        fake = g(z, labels)
        scores = d(torch.cat([real, fake.detach()]), torch.cat([labels, labels]))
        loss_d = F.relu(1 - scores[:batch]).mean() + F.relu(1 + scores[batch:]).mean()
        opt_d.zero_grad(), loss_d.backward(), opt_d.step()
        loss_g = -d(g(z, labels), labels).mean()
        opt_g.zero_grad(), loss_g.backward(), opt_g.step()
    g.eval(), d.eval()


def sample(pipeline, seed: int = 0):
    """Deterministic samples (numpy) for comparing pipelines."""
    generator = torch.Generator().manual_seed(seed)
    return pipeline(class_labels=[0, 1, 2, 3], generator=generator, output_type="np").images


def assert_same_images(actual, expected) -> None:
    """Same samples up to float rounding: the weights are bit-identical after a round trip, but BLAS
    kernels may sum in another order for tensors that safetensors placed at other addresses (~1e-7)."""
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-6)


def python_blocks(markdown: str) -> list[str]:
    """The ```python code blocks of a Markdown text."""
    return code_blocks(markdown, "python")


def code_blocks(markdown: str, language: str, containing: str = "") -> list[str]:
    """The code blocks of one language in a Markdown text, optionally only those containing a string."""
    blocks = re.findall(rf"```{language}\n(.*?)```", markdown, flags=re.S)
    return [block for block in blocks if containing in block]


def files_containing(folders: list[Path], needle: str) -> list[Path]:
    """Every file under `folders` whose bytes contain `needle`."""
    hits, raw = [], needle.encode()
    for folder in folders:
        for path in Path(folder).rglob("*"):
            if path.is_file() and not path.is_symlink() and raw in path.read_bytes():
                hits.append(path)
    return hits

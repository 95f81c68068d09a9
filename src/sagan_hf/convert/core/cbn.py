"""Class-conditional BatchNorm: every source's gain and bias folded into our per-class tables.

Ours computes BN(x) * gain[y] + bias[y] with plain (num_classes, C) tables. The sources:

- an offset gain: gain = 1 + table[y] (BigGAN-PyTorch, StudioGAN, MMGeneration with BigGAN/studio
  initialisation): our gain table is 1 + theirs (`gain_from_offset`);
- an SN linear (C, num_classes) applied to one_hot(y) (StudioGAN since 2022-03): one_hot(y) W^T picks
  row y of (W / sigma)^T (`tables_from_onehot_linear`);
- a shared class embedding E (num_classes, d) feeding SN linears (C, d) (BigGAN-PyTorch `G_shared`,
  StudioGAN 2022-01..03): the value for class y is E[y] (W / sigma)^T, so the table is E (W / sigma)^T
  (`tables_from_shared_embedding`);
- SN embeddings (num_classes, C) (StudioGAN before 2022, MMGeneration): the table is W / sigma itself.

"W / sigma" is `SpectralWeight.normalized()` with the vectors that source uses in eval mode.
"""

from __future__ import annotations

import torch


def gain_from_offset(offset_table: torch.Tensor) -> torch.Tensor:
    """Our gain table for a source whose gain is 1 + table[y]."""
    return 1.0 + offset_table


def tables_from_onehot_linear(normalized_weight: torch.Tensor) -> torch.Tensor:
    """(num_classes, C) table of a bias-free linear (C, num_classes) applied to one-hot classes."""
    return normalized_weight.t().contiguous()


def tables_from_shared_embedding(shared: torch.Tensor, normalized_weight: torch.Tensor) -> torch.Tensor:
    """(num_classes, C) table of a bias-free linear (C, d) applied to a class embedding (num_classes, d)."""
    return (shared.double() @ normalized_weight.double().t()).float()

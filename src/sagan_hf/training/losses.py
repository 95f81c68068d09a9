"""The hinge loss of SAGAN (Lim & Ye, 2017; Miyato et al., 2018), computed in fp32."""

import torch
import torch.nn.functional as F


def discriminator_hinge_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """mean(relu(1 - D(x))) + mean(relu(1 + D(G(z)))), in fp32 whatever the autocast dtype."""
    return F.relu(1.0 - real_logits.float()).mean() + F.relu(1.0 + fake_logits.float()).mean()


def generator_hinge_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """-mean(D(G(z))), in fp32."""
    return -fake_logits.float().mean()

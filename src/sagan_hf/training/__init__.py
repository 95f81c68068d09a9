"""Training: the config, the train step, checkpoints and the Accelerate loop (`train`).

Names are imported on first use (PEP 562): `sagan-hf train --help` and the argument checks need only
`training.config`, not torch, diffusers and accelerate.
"""

from __future__ import annotations

from ..lazy_exports import lazy_exports

_EXPORTS = {
    "SAGANTrainStep": "train_step",
    "TrainCallback": "callbacks",
    "TrainConfig": "config",
    "make_config": "config",
    "train": "trainer",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

"""Training: data streams, the train step, checkpoints and the Accelerate loop (`train`)."""

from .config import TrainConfig, make_config
from .train_step import SAGANTrainStep
from .trainer import train

__all__ = ["SAGANTrainStep", "TrainConfig", "make_config", "train"]

"""Training: the config, the train step, checkpoints and the Accelerate loop (`train`)."""

from .callbacks import TrainCallback
from .config import TrainConfig, make_config
from .train_step import SAGANTrainStep
from .trainer import train

__all__ = ["SAGANTrainStep", "TrainCallback", "TrainConfig", "make_config", "train"]

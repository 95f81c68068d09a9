"""Errors a training run ends with whose message says everything: the command line prints them as one line.

`TrainingRunError`s are failures of the run itself (exit status 1); the `ValueError`s here are refusals
of what was asked (exit status 2, like every other bad input).
"""

from __future__ import annotations


class TrainingRunError(RuntimeError):
    """A run stopped for a reason its message explains (no traceback needed)."""


class NonFiniteTrainingError(TrainingRunError):
    """Too many training steps in a row had a NaN or infinite loss."""


class CheckpointWriteError(TrainingRunError):
    """A checkpoint could not be written (the disk is full); nothing half-written was left behind."""


class DamagedCheckpointError(ValueError):
    """A checkpoint's files do not match its manifest (or cannot be read); `file` names the first bad one."""

    def __init__(self, checkpoint, file: str, problem: str):
        self.checkpoint, self.file, self.problem = checkpoint, file, problem
        super().__init__(f"checkpoint {checkpoint} is damaged: {file} {problem}")

    def __reduce__(self):  # sent from the main process to the other ranks
        return type(self), (self.checkpoint, self.file, self.problem)


class OutputDirInUseError(ValueError):
    """Another live run holds the output folder's lock."""

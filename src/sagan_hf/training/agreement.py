"""Decisions every rank must share: taken once on the main process, then handed to all.

A refusal raised on the main process alone would leave the other ranks waiting at the next barrier
until the collective timeout; here every rank raises the same error (and the command line prints it
once, from the first process).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from accelerate import Accelerator
from accelerate.utils import broadcast_object_list, gather_object

from .errors import TrainingRunError

T = TypeVar("T")
SHARED_ERRORS = (ValueError, TrainingRunError)


def decide_on_main(accelerator: Accelerator, decide: Callable[[], T]) -> T:
    """Run `decide` on the main process; every rank returns its result or raises its ValueError/TrainingRunError."""
    outcome: list = [None]
    if accelerator.is_main_process:
        try:
            outcome = [(True, decide())]
        except SHARED_ERRORS as error:
            outcome = [(False, error)]
    if accelerator.num_processes > 1:
        broadcast_object_list(outcome)
    succeeded, value = outcome[0]
    if not succeeded:
        raise value
    return value


def first_of_all_ranks(accelerator: Accelerator, value):
    """The first non-None `value` over the ranks (in rank order), on every rank; a barrier as well."""
    values = gather_object([value]) if accelerator.num_processes > 1 else [value]
    return next((item for item in values if item is not None), None)


def any_rank(accelerator: Accelerator, flag: int) -> int:
    """The largest `flag` (an int) over the ranks, on every rank: one small all-reduce and one host read."""
    if accelerator.num_processes == 1:
        return flag
    import torch
    import torch.distributed as dist

    tensor = torch.tensor([flag], dtype=torch.int64, device=accelerator.device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return int(tensor.item())

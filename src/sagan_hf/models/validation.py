"""Input checks shared by both networks."""

import torch


def check_class_labels(class_labels: torch.Tensor | None, num_classes: int, batch_size: int, net: str) -> None:
    """Raise a ValueError that says what is wrong with `class_labels` for a model of `num_classes`."""
    if num_classes == 0:
        if class_labels is not None:
            raise ValueError(f"{net} is unconditional (num_classes=0): call it without class_labels")
        return
    if class_labels is None:
        raise ValueError(f"{net} is class-conditional ({num_classes} classes): class_labels are required")
    if class_labels.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"{net}: class_labels must be an integer tensor, got dtype {class_labels.dtype}")
    if class_labels.shape != (batch_size,):
        raise ValueError(f"{net}: class_labels must have shape ({batch_size},), got {tuple(class_labels.shape)}")
    # A value check reads values back: run it only where that is free (eager, CPU tensors), never on an
    # accelerator (a host sync per call) nor under torch.compile (a graph break).
    if class_labels.device.type == "cpu" and class_labels.numel() and not torch.compiler.is_compiling():
        low, high = int(class_labels.min()), int(class_labels.max())
        if low < 0 or high >= num_classes:
            raise ValueError(f"{net}: class labels must lie in [0, {num_classes}), got values in [{low}, {high}]")

"""Which classes a figure shows: one helper for validation grids, cards, samples and the demo."""

from __future__ import annotations


def spread_classes(num_classes: int, count: int) -> list[int]:
    """Up to `count` class indices spread evenly over [0, num_classes), first and last included.

    All classes when there are at most `count`; none for an unconditional model (`num_classes=0`).
    """
    if count < 1:
        raise ValueError(f"count must be a positive integer, got {count}")
    if num_classes <= count:
        return list(range(num_classes))
    if count == 1:
        return [0]
    return [round(i * (num_classes - 1) / (count - 1)) for i in range(count)]

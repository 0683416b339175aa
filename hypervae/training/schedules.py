"""Learning-rate and Gumbel-temperature schedules.

The KL weight schedule is :func:`hypervae.losses.kl_weight`.
"""

from __future__ import annotations

import math

__all__ = ["gumbel_temperature", "warmup_cosine"]


def warmup_cosine(step: int, warmup_steps: int, total_steps: int, min_ratio: float) -> float:
    """Learning-rate factor: linear warm-up to 1, then cosine decay to ``min_ratio``.

    Arguments:
        step: Optimiser steps taken.
        warmup_steps: Steps of the linear warm-up (the factor at step 0 is ``1 / (warmup + 1)``
            so that the first update is not wasted).
        total_steps: Steps of the whole run; the factor is ``min_ratio`` from there on.
        min_ratio: ``min_lr / lr``.

    Examples:
        >>> [round(warmup_cosine(s, 2, 6, 0.1), 3) for s in (0, 1, 2, 4, 6, 9)]
        [0.333, 0.667, 1.0, 0.55, 0.1, 0.1]
    """
    if step < warmup_steps:
        return (step + 1) / (warmup_steps + 1)
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def gumbel_temperature(epoch: float, initial: float, final: float, decay: float) -> float:
    """Exponentially decayed Gumbel-softmax temperature with a floor.

    Examples:
        >>> [gumbel_temperature(e, 1.0, 0.3, 0.5) for e in (0, 1, 2, 3)]
        [1.0, 0.5, 0.3, 0.3]
    """
    return max(float(final), float(initial) * math.pow(float(decay), float(epoch)))

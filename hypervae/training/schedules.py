"""Every schedule of training: learning-rate factors and the Gumbel temperature.

Two learning-rate shapes, chosen by :attr:`~.config.TrainingConfig.schedule`:

* :func:`warmup_cosine` (the VAE's): linear warm-up, then cosine decay to ``min_lr``;
* :func:`flat_then_decay` (the taggers', after the Particle Transformer recipe): flat for
  a fraction of the steps, then exponential decay to a final fraction.

:func:`lr_factor` picks the one a config asks for. The KL-weight schedule is
:func:`hypervae.losses.kl_weight`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import TrainingConfig

__all__ = ["flat_then_decay", "gumbel_temperature", "lr_factor", "warmup_cosine"]


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


def flat_then_decay(
    step: int, total_steps: int, flat_fraction: float, final_fraction: float
) -> float:
    """Learning-rate factor: 1 for the first ``flat_fraction`` of the steps, then an
    exponential decay reaching ``final_fraction`` at ``total_steps``.

    Examples:
        >>> [round(flat_then_decay(s, 100, 0.7, 0.01), 3) for s in (0, 69, 85, 100)]
        [1.0, 1.0, 0.1, 0.01]
    """
    flat = int(flat_fraction * total_steps)
    if step < flat or total_steps <= flat:
        return 1.0
    progress = min(1.0, (step - flat) / max(total_steps - flat, 1))
    return math.exp(math.log(final_fraction) * progress)


def lr_factor(config: TrainingConfig, step: int, total_steps: int) -> float:
    """The learning-rate factor of ``config.schedule`` at optimiser step ``step``.

    Examples:
        >>> from hypervae.training import TrainingConfig
        >>> round(lr_factor(TrainingConfig(schedule="flat_decay", flat_fraction=0.5), 10, 10), 6)
        0.01
    """
    if config.schedule == "flat_decay":
        return flat_then_decay(step, total_steps, config.flat_fraction, config.final_lr_fraction)
    return warmup_cosine(step, config.warmup_steps, total_steps, config.min_lr / config.lr)


def gumbel_temperature(epoch: float, initial: float, final: float, decay: float) -> float:
    """Exponentially decayed Gumbel-softmax temperature with a floor.

    Examples:
        >>> [gumbel_temperature(e, 1.0, 0.3, 0.5) for e in (0, 1, 2, 3)]
        [1.0, 0.5, 0.3, 0.3]
    """
    return max(float(final), float(initial) * math.pow(float(decay), float(epoch)))

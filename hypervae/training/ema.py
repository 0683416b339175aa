"""Exponential moving average (EMA) of a model's trainable weights.

Validation, ``best/`` and the final model of a :class:`~hypervae.training.Trainer` with
``TrainingConfig.ema_decay > 0`` use the averaged weights; the optimiser keeps stepping
the raw ones. The decay warms up as ``min(decay, (1 + step) / (10 + step))`` so that the
first steps are not averaged with the initial weights for long.

References:
    | Polyak, Juditsky, Acceleration of stochastic approximation by averaging (1992)
    | https://doi.org/10.1137/0330046
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import Tensor, nn

__all__ = ["ExponentialMovingAverage"]


class ExponentialMovingAverage:
    """Shadow copies of the trainable floating-point parameters, averaged after each step.

    Arguments:
        model: The model whose parameters with ``requires_grad`` are averaged.
        decay: Target decay in [0, 1): ``shadow = d * shadow + (1 - d) * weight``.

    Examples:
        >>> model = nn.Linear(1, 1, bias=False)
        >>> with torch.no_grad():
        ...     _ = model.weight.fill_(0.0)
        >>> ema = ExponentialMovingAverage(model, decay=0.5)
        >>> with torch.no_grad():
        ...     _ = model.weight.fill_(1.0)
        >>> ema.update(model, step=100)
        >>> with ema.swapped(model):
        ...     averaged = float(model.weight.detach())
        >>> averaged, float(model.weight.detach())
        (0.5, 1.0)
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 <= decay < 1.0:
            msg = f"decay: must be in [0, 1), got {decay}"
            raise ValueError(msg)
        self.decay = decay
        self.shadow: dict[str, Tensor] = {
            name: p.detach().clone()
            for name, p in model.named_parameters()
            if p.requires_grad and p.is_floating_point()
        }

    def factor(self, step: int) -> float:
        """The decay used after optimiser step ``step`` (1-based): warmed up."""
        return min(self.decay, (1.0 + step) / (10.0 + step))

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        """Averages the current weights in (call after each optimiser step)."""
        d = self.factor(step)
        params = dict(model.named_parameters())
        for name, shadow in self.shadow.items():
            shadow.mul_(d).add_(params[name].detach(), alpha=1.0 - d)

    @contextlib.contextmanager
    def swapped(self, model: nn.Module) -> Iterator[None]:
        """Inside the block the model holds the averaged weights; afterwards its own."""
        params = dict(model.named_parameters())
        saved = {name: params[name].detach().clone() for name in self.shadow}
        self.copy_to(model)
        try:
            yield
        finally:
            with torch.no_grad():
                for name, weight in saved.items():
                    params[name].copy_(weight)

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        """Puts the averaged weights into the model for good."""
        params = dict(model.named_parameters())
        for name, shadow in self.shadow.items():
            params[name].copy_(shadow)

    def state_dict(self) -> dict[str, Tensor]:
        """The shadow weights (on the CPU)."""
        return {k: v.detach().cpu().clone() for k, v in self.shadow.items()}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        """Restores the shadow weights; the names must match."""
        if set(state) != set(self.shadow):
            msg = f"EMA state names differ: {sorted(set(state) ^ set(self.shadow))}"
            raise ValueError(msg)
        for name, value in state.items():
            self.shadow[name].copy_(value)

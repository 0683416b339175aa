r"""Ranger: RAdam with Lookahead.

RAdam (rectified Adam, ``torch.optim.RAdam``) updates the *fast* weights; every ``k``
steps the *slow* weights move a fraction ``alpha`` towards them and the fast weights are
reset to the slow ones: :math:`\phi \leftarrow \phi + \alpha(\theta - \phi),\ \theta
\leftarrow \phi`. Defaults (``lr=1e-3, betas=(0.95, 0.999), eps=1e-5, k=6, alpha=0.5``)
are those of the Ranger optimiser used to train the Particle Transformer. It lives in
:mod:`hypervae.training` (``TrainingConfig.optimizer="ranger"``); ``hypervae.taggers.Ranger``
is the same class.

References:
    | On the Variance of the Adaptive Learning Rate and Beyond (Liu et al., 2019)
    | Lookahead Optimizer: k steps forward, 1 step back (Zhang et al., 2019)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

__all__ = ["Ranger"]


class Ranger(torch.optim.RAdam):
    """RAdam + Lookahead (see the module docstring).

    Arguments:
        params: Parameters or parameter groups.
        lr, betas, eps, weight_decay: As in :class:`torch.optim.RAdam`.
        k: Lookahead synchronisation period (steps).
        alpha: Lookahead step size in ``(0, 1]``.

    Examples:
        >>> w = torch.nn.Parameter(torch.tensor([1.0]))
        >>> opt = Ranger([w], lr=0.1)
        >>> for _ in range(12):
        ...     opt.zero_grad(); (w**2).sum().backward(); _ = opt.step()
        >>> bool(abs(w.item()) < 1.0)
        True
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.95, 0.999),
        eps: float = 1e-5,
        weight_decay: float = 0.0,
        k: int = 6,
        alpha: float = 0.5,
    ) -> None:
        if int(k) < 1:
            msg = f"Ranger: k must be >= 1, got {k}"
            raise ValueError(msg)
        if not 0.0 < alpha <= 1.0:
            msg = f"Ranger: alpha must be in (0, 1], got {alpha}"
            raise ValueError(msg)
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        for group in self.param_groups:
            group.setdefault("lookahead_k", int(k))
            group.setdefault("lookahead_alpha", float(alpha))
            group.setdefault("lookahead_step", 0)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One RAdam step, then a Lookahead synchronisation every ``k`` steps."""
        # slow weights start as the weights before the first step of each parameter
        initial = {
            p: p.detach().clone()
            for group in self.param_groups
            for p in group["params"]
            if "slow" not in self.state[p]
        }
        loss: float | None = super().step(closure)
        for p, value in initial.items():
            self.state[p]["slow"] = value
        for group in self.param_groups:
            group["lookahead_step"] += 1
            if group["lookahead_step"] % group["lookahead_k"]:
                continue
            for p in group["params"]:
                slow = self.state[p]["slow"]
                slow.add_(p - slow, alpha=group["lookahead_alpha"])
                p.copy_(slow)
        return loss

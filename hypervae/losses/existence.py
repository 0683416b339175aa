r"""Existence loss of a slot decoder: which of ``P`` particle slots hold a particle.

The target of slot ``i`` of a jet with ``n`` particles is ``i < n``. The loss is the
binary cross-entropy of the existence logits against it plus the squared difference
between the relaxed number of slots (a straight-through Gumbel-softmax sample of the
logits, which carries gradients to them) and ``n``, divided by ``P``.

References:
    | Jang, Gu, Poole, Categorical Reparameterization with Gumbel-Softmax (2016)
    | https://arxiv.org/abs/1611.01144
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["binary_gumbel", "existence_loss"]


def existence_loss(logits: Tensor, relaxed: Tensor, multiplicity: Tensor) -> Tensor:
    """Slot-existence cross-entropy plus the relaxed-count penalty.

    Arguments:
        logits: Existence logits ``[B, P]``.
        relaxed: Relaxed existence samples in ``[0, 1]`` ``[B, P]`` (e.g.
            :func:`binary_gumbel` of ``logits``).
        multiplicity: True number of particles per jet ``[B]``.

    Shapes:
        logits, relaxed: ``[B, P]``; multiplicity: ``[B]``; output ``[]``.

    Examples:
        >>> logits = torch.tensor([[20.0, 20.0, -20.0]])
        >>> round(float(existence_loss(logits, (logits > 0).double(), torch.tensor([2]))), 6)
        0.0
    """
    slots = torch.arange(logits.shape[1], device=logits.device)[None, :] < multiplicity[:, None]
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, slots.to(logits.dtype))
    count = ((relaxed.sum(1) - multiplicity) / logits.shape[1]) ** 2
    return bce + count.mean()


def binary_gumbel(logits: Tensor, tau: float, generator: torch.Generator | None = None) -> Tensor:
    """Straight-through binary Gumbel-softmax: hard 0/1 forward, soft gradient.

    Shapes:
        logits ``[...]`` -> ``[...]``.
    """
    if generator is None:
        u = torch.rand_like(logits)
    else:
        u = torch.rand(logits.shape, generator=generator, dtype=logits.dtype).to(logits.device)
    u = u.clamp(1e-6, 1 - 1e-6)
    soft = torch.sigmoid((logits + torch.log(u) - torch.log1p(-u)) / tau)
    hard = (soft > 0.5).to(soft.dtype)
    return hard + soft - soft.detach()

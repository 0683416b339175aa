r"""Differentiable energy-correlator distribution loss.

The projected N-point correlator of a batch of jets is a weighted distribution of
:math:`\ln R_L` (see :mod:`hypervae.physics.eec`): every set of distinct particles
contributes its largest pairwise :math:`\Delta R` with the weight of its ordered
tuples. This module computes those (value, weight) pairs in torch, so gradients reach
the particle 4-momenta through both, and compares the pooled generated distribution
with the target one by the 1D Wasserstein distance

.. math::

    W_1(u, v) = \int |F_u(t) - F_v(t)|\, dt ,

computed exactly from the merged, sorted supports (:func:`wasserstein_1d`, the same
number as ``scipy.stats.wasserstein_distance``), differentiable in the values and the
weights. Each jet's weights are normalised to one, so every jet counts equally. The
tuples come from :mod:`hypervae.physics.tuples`, the one implementation (numpy and
torch) that the histograms of :func:`hypervae.physics.eec` use too.

References:
    | Komiske, Moult, Thaler, Zhu (2022) https://arxiv.org/abs/2201.07800
    | Flamary et al., POT: Python Optimal Transport (2021) https://jmlr.org/papers/v22/20-451.html
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..physics.tuples import eec_values

__all__ = ["eec_distribution_loss", "eec_values_torch", "wasserstein_1d"]


def eec_values_torch(p4: Tensor, mask: Tensor, n: int = 2) -> tuple[Tensor, Tensor]:
    r"""Per-tuple :math:`\ln R_L` and weights of the projected N-point EEC, in torch.

    All sets of ``2..n`` distinct particles: only the ``i = j`` contact terms are left
    out (by index), repeated indices enter through their multiplicity factors, and
    distinct particles in the same direction sit at :math:`R_L = 10^{-8}`. This is
    :func:`hypervae.physics.eec_values` (the implementation behind the histograms of
    :func:`hypervae.physics.eec`) with :math:`\ln R_L`; differentiable.

    Shapes:
        p4: ``[B, P, 4]`` ``(E, px, py, pz)``; mask: ``[B, P]``;
        outputs ``[B, T]`` each (weight 0 where a particle is padding).
    """
    rl, weight = eec_values(p4, mask.bool(), n)
    return torch.log(rl), weight


def eec_distribution_loss(
    gen: tuple[Tensor, Tensor],
    target: tuple[Tensor, Tensor],
    n: int = 2,
) -> Tensor:
    r"""1D Wasserstein distance between generated and target projected EEC in ln R_L.

    Arguments:
        gen: Generated ``(p4[B, P, 4], mask[B, P])``; gradients flow into ``p4``.
        target: Target ``(p4[B', P', 4], mask[B', P'])`` (for example the real batch).
        n: Number of points (2 or 3; 4 for at most 50 particles).

    Returns:
        A scalar tensor, zero when the two pooled distributions are equal.

    Shapes:
        output ``[]``.

    Examples:
        >>> from hypervae.physics import ptetaphim_to_cartesian
        >>> p4 = torch.from_numpy(ptetaphim_to_cartesian([[1.0, 1.0, 2.0]], [[0, 0.1, 0]], [[0, 0, 0.2]]))
        >>> mask = torch.ones(1, 3, dtype=torch.bool)
        >>> float(eec_distribution_loss((p4, mask), (p4, mask)))
        0.0
    """
    u, a = _pooled(*gen, n)
    v, b = _pooled(*target, n)
    return wasserstein_1d(u, v, a, b)


def wasserstein_1d(
    u: Tensor, v: Tensor, u_weights: Tensor | None = None, v_weights: Tensor | None = None
) -> Tensor:
    r"""Exact 1D Wasserstein-1 distance between weighted samples, differentiable.

    :math:`W_1 = \sum_k |F_u(t_k) - F_v(t_k)|\,(t_{k+1} - t_k)` over the merged sorted
    support; weights are normalised to one.

    Shapes:
        u: ``[N]``; v: ``[M]``; weights alike; output ``[]``.

    Examples:
        >>> float(wasserstein_1d(torch.tensor([0.0, 1.0]), torch.tensor([2.0, 3.0])))
        2.0
    """
    a = torch.ones_like(u) if u_weights is None else u_weights
    b = torch.ones_like(v) if v_weights is None else v_weights
    t = torch.cat([u, v])
    mass = torch.cat([a / a.sum(), -b / b.sum()])
    order = torch.argsort(t)
    t_sorted = t[order]
    cdf_gap = torch.cumsum(mass[order], 0)[:-1]
    return (cdf_gap.abs() * (t_sorted[1:] - t_sorted[:-1])).sum()


def _pooled(p4: Tensor, mask: Tensor, n: int) -> tuple[Tensor, Tensor]:
    values, weights = eec_values_torch(p4, mask.bool(), n)
    weights = weights / torch.clamp(weights.sum(-1, keepdim=True), min=1e-12)
    keep = weights.reshape(-1) > 0
    flat_w = weights.reshape(-1)[keep]
    return values.reshape(-1)[keep], flat_w / flat_w.sum()

r"""The tuples of the projected N-point energy correlators, one code for numpy and torch.

:func:`eec_inputs` gives the pairwise :math:`\Delta R` and the energy weights of padded
jets, :func:`eec_tuples` the largest :math:`\Delta R` (:math:`R_L`) and the summed
ordered-tuple weight of sets of distinct particles, and :func:`eec_values` both for
every set of ``2..N`` distinct particles. Each function takes numpy arrays or torch
tensors (torch is imported only when a tensor is given, as in
:mod:`hypervae.physics.pairwise`), so the histograms of :func:`hypervae.physics.eec`
and the differentiable :func:`hypervae.losses.eec_distribution_loss` share one
implementation. The definitions (multiplicity factors, contact terms) are in
:mod:`hypervae.physics.eec`.

Only the ``i = j`` contact terms are left out, by index: distinct particles in the same
direction are kept, at :math:`R_L` = :data:`RL_FLOOR`.
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = ["RL_FLOOR", "combinations", "eec_inputs", "eec_tuples", "eec_values"]

RL_FLOOR = 1e-8
"""Lower clamp of :math:`R_L` (as the pairwise ``EPS``): where collinear distinct particles land."""


@lru_cache(maxsize=64)
def combinations(size: int, k: int) -> np.ndarray:
    """All index sets ``i_1 < ... < i_k`` of ``range(size)`` as an int array ``[T, k]``.

    Built with numpy comparisons on an index grid (no Python loop over tuples); the
    result is cached and read-only.

    Examples:
        >>> combinations(4, 3).tolist()
        [[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]]
    """
    if k == 1:
        out = np.arange(size)[:, None]
    else:
        prev = combinations(size, k - 1)
        nxt = np.arange(size)
        keep = nxt[None, :] > prev[:, -1:]
        rows, cols = np.nonzero(keep)
        out = np.concatenate([prev[rows], nxt[cols][:, None]], axis=1)
    out = out.astype(np.int64)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=16)
def _compositions(n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exponents ``m [C, k]`` (all >= 1, summing to n) and multinomial factors ``[C]``."""
    rows = [m for m in itertools.product(range(1, n + 1), repeat=k) if sum(m) == n]
    exps = np.array(rows, dtype=np.int64).reshape(-1, k)
    coef = np.array([math.factorial(n) / math.prod(math.factorial(m) for m in row) for row in rows])
    return exps, coef


def _namespace(array: Any) -> Any:
    """``torch`` for a tensor (imported only then), else ``numpy``."""
    if type(array).__module__.split(".")[0] == "torch":
        import torch

        return torch
    return np


def _indices(index_sets: Any, like: Any) -> Any:
    """Integer index sets as an array of ``like``'s kind (a copy on its device for torch)."""
    if _namespace(like) is np:
        return np.asarray(index_sets)
    import torch

    if isinstance(index_sets, torch.Tensor):
        return index_sets.to(like.device)
    return torch.tensor(np.asarray(index_sets), device=like.device)


def _safe_sqrt(value: Any, xp: Any) -> Any:
    """Square root whose gradient at 0 is 0 rather than NaN (collinear pairs, padding)."""
    positive = value > 0
    return xp.where(positive, xp.sqrt(xp.where(positive, value, xp.ones_like(value))), 0 * value)


def eec_inputs(p4: Any, mask: Any, jet_pt: Any | None = None) -> tuple[Any, Any]:
    r"""Pairwise :math:`\Delta R` and energy weights of padded jets, numpy or torch.

    The one implementation behind :func:`eec`, :func:`tuple_values` and the torch loss
    :func:`hypervae.losses.eec_distribution_loss`: works on numpy arrays and on torch
    tensors (any device, differentiable; torch is imported only when given a tensor).
    :math:`\Delta R` is measured in (rapidity, azimuth), the azimuthal difference wrapped
    to :math:`(-\pi, \pi]`. Padded slots are never read.

    Arguments:
        p4: ``(E, px, py, pz)``.
        mask: Real particles.
        jet_pt: Per-jet :math:`p_T` to normalise the energy weights to
            (``weights="jet"``); by default the sum of the real particles' :math:`p_T`, so
            the weights of a jet add up to one.

    Returns:
        ``dr[B, P, P]`` and ``w[B, P]`` (zero on padding).

    Shapes:
        p4: ``[B, P, 4]``; mask: ``[B, P]``; jet_pt: ``[B]``.
    """
    xp = _namespace(p4)

    def clamp(value: Any) -> Any:
        return np.maximum(value, 1e-12) if xp is np else xp.clamp(value, min=1e-12)

    p4 = xp.where(mask[..., None], p4, xp.zeros_like(p4))
    energy, px, py, pz = (p4[..., k] for k in range(4))
    pt = _safe_sqrt(px**2 + py**2, xp)
    y = 0.5 * xp.log(clamp(energy + pz) ** 2 / clamp((energy - pz) * (energy + pz)))
    phi = xp.atan2(py, px) if xp is not np else np.arctan2(py, px)
    dphi = xp.remainder(phi[:, :, None] - phi[:, None, :] + np.pi, 2 * np.pi) - np.pi
    dr = _safe_sqrt((y[:, :, None] - y[:, None, :]) ** 2 + dphi**2, xp)
    pt = xp.where(mask, pt, xp.zeros_like(pt))
    if jet_pt is None:
        total = pt.sum(-1)[:, None]
        return dr, pt / xp.where(total > 0, total, xp.ones_like(total))
    return dr, pt / jet_pt[:, None]


def eec_tuples(dr: Any, w: Any, index_sets: Any, n: int) -> tuple[Any, Any]:
    r""":math:`R_L` and the summed ordered-tuple weight of sets of distinct particles.

    For each set of ``k`` distinct particle indices (``2 <= k <= n``), :math:`R_L` is
    its largest pairwise :math:`\Delta R` and the weight is the sum over the ordered
    N-tuples made of exactly these particles (repeated indices included, see the module
    docstring). numpy or torch, like :func:`eec_inputs`. :math:`R_L` is not clamped here.

    Arguments:
        dr: Pairwise :math:`\Delta R` from :func:`eec_inputs`.
        w: Energy weights from :func:`eec_inputs`.
        index_sets: Index sets, e.g. :func:`combinations` ``(P, k)``.
        n: Number of points N.

    Returns:
        ``rl[B, T]`` and ``weight[B, T]``.

    Shapes:
        dr: ``[B, P, P]``; w: ``[B, P]``; index_sets: ``[T, k]``.
    """
    xp = _namespace(dr)
    idx = _indices(index_sets, dr)
    exps, coef = _compositions(n, idx.shape[1])
    if xp is not np:
        exps = xp.tensor(exps, dtype=w.dtype, device=w.device)
    rl = xp.zeros_like(dr[:, idx[:, 0], idx[:, 0]])
    for a, b in itertools.combinations(range(idx.shape[1]), 2):  # at most 6 column pairs
        rl = xp.maximum(rl, dr[:, idx[:, a], idx[:, b]])
    wk = w[:, idx]  # [B, T, k]
    weight: Any = 0
    for row, c in zip(exps, coef, strict=True):  # at most 3 compositions for N <= 4
        weight = weight + float(c) * xp.prod(wk**row, -1)
    return rl, weight


def eec_values(p4: Any, mask: Any, n: int = 2, jet_pt: Any | None = None) -> tuple[Any, Any]:
    r""":math:`R_L` and weight of every set of ``2..n`` distinct particles, numpy or torch.

    The tuples of the projected N-point correlator: only the ``i = j`` contact terms are
    left out (by index); distinct particles in the same direction contribute at
    :math:`R_L` = :data:`RL_FLOOR`, the clamp below which :math:`R_L` never goes.
    Histogramming ``ln rl`` with ``weight`` gives :func:`eec` (unbinned: the torch loss
    :func:`hypervae.losses.eec_distribution_loss` uses this). Differentiable in torch.

    Arguments:
        p4: ``(E, px, py, pz)`` (numpy or torch).
        mask: Real particles.
        n: Number of points N (2, 3, 4).
        jet_pt: See :func:`eec_inputs`.

    Returns:
        ``rl[B, T]`` (clamped below at :data:`RL_FLOOR`) and ``weight[B, T]`` (zero where
        a member is padding), the index sets of ``2..n`` particles concatenated in the
        order of :func:`combinations`.

    Shapes:
        p4: ``[B, P, 4]``; mask: ``[B, P]``; outputs ``[B, T]``.

    Examples:
        >>> from hypervae.physics import ptetaphim_to_cartesian
        >>> p4 = ptetaphim_to_cartesian([[1.0, 3.0, 1.0]], [[0.0, 0.1, 0.1]], [[0.0, 0.0, 0.0]])
        >>> rl, weight = eec_values(p4, np.ones((1, 3), bool), n=2)
        >>> rl.round(9).tolist()  # the collinear pair (1, 2) is kept, at R_L = 1e-8
        [[0.1, 0.1, 1e-08]]
        >>> weight.round(12).tolist()  # 2 w_i w_j with w = (0.2, 0.6, 0.2)
        [[0.24, 0.08, 0.24]]
    """
    xp = _namespace(p4)
    dr, w = eec_inputs(p4, mask, jet_pt)
    size = p4.shape[1]
    rls, weights = [], []
    for k in range(2, min(n, size) + 1):
        index_sets = combinations(size, k)
        rl, weight = eec_tuples(dr, w, index_sets, n)
        real = mask[:, _indices(index_sets, mask)].all(-1)
        rls.append(xp.clamp(rl, min=RL_FLOOR) if xp is not np else np.maximum(rl, RL_FLOOR))
        weights.append(xp.where(real, weight, xp.zeros_like(rl)))
    if not rls:
        empty = xp.zeros_like(p4[:, :0, 0])
        return empty, empty
    cat = xp.cat if xp is not np else np.concatenate
    return cat(rls, 1), cat(weights, 1)

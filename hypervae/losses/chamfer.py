r"""Masked, batched Chamfer distance between particle sets, and exact EMD via POT.

For sets :math:`X = \{x_i\}` and :math:`Y = \{y_j\}` with point weights :math:`a_i`,
:math:`b_j` (each summing to one per set),

.. math::

    \mathrm{CD}(X, Y) = \sum_i a_i \min_j d(x_i, y_j) + \sum_j b_j \min_i d(x_i, y_j),

with :math:`d` the (optionally squared) Euclidean distance. For 4-momenta
``(E, px, py, pz)`` the energy difference may be weighted by ``w_energy``, and points
may be weighted by :math:`p_T^\alpha` (``alpha``) instead of uniformly.

References:
    | Fan, Su, Guibas, A Point Set Generation Network for 3D Object Reconstruction
    | from a Single Image (2017) https://arxiv.org/abs/1612.00603
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["chamfer_distance", "emd_distance", "point_weights"]


def point_weights(x: Tensor, mask: Tensor, alpha: float | None = None) -> Tensor:
    r"""Per-point weights summing to one over the real points of each set.

    Uniform (``alpha=None``) or :math:`p_T^\alpha` with :math:`p_T` from columns 1, 2.

    Shapes:
        x: ``[B, N, D]``; mask: ``[B, N]``; output ``[B, N]`` (zero on padding).
    """
    if alpha is None:
        raw = mask.to(x.dtype)
    else:
        pt = torch.sqrt(x[..., 1] ** 2 + x[..., 2] ** 2 + 1e-12)
        raw = torch.where(mask, pt**alpha, torch.zeros_like(pt))
    total = raw.sum(-1, keepdim=True)
    return raw / torch.where(total > 0, total, torch.ones_like(total))


def chamfer_distance(
    x: Tensor,
    y: Tensor,
    x_mask: Tensor | None = None,
    y_mask: Tensor | None = None,
    squared: bool = True,
    w_energy: float = 1.0,
    alpha: float | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Chamfer distance between batches of padded point sets.

    Arguments:
        x: Point sets ``[B, N, D]``.
        y: Point sets ``[B, M, D]``.
        x_mask: Real points of ``x``, ``[B, N]`` (all real by default).
        y_mask: Real points of ``y``, ``[B, M]`` (all real by default).
        squared: Use squared distances (the common Chamfer loss).
        w_energy: Weight of the squared difference in column 0 (energy for 4-momenta).
        alpha: Weight points by ``pT**alpha`` (pT from columns 1, 2) instead of uniformly.
        reduction: ``"mean"`` or ``"sum"`` over jets, or ``"none"`` for ``[B]``.

    Returns:
        The distance, differentiable with respect to ``x`` and ``y``. A pair of empty
        sets has distance 0; one empty set against a non-empty one is an error. Padded
        slots are never read: their content (even NaN or inf) changes neither the value
        nor the gradients, which are zero there.

    Shapes:
        x: ``[B, N, D]``; y: ``[B, M, D]``; output ``[]`` or ``[B]``.

    Examples:
        >>> x = torch.tensor([[[0.0, 0.0], [1.0, 0.0]]])
        >>> y = torch.tensor([[[0.0, 0.0]]])
        >>> float(chamfer_distance(x, y))  # (0 + 1) / 2 + 0
        0.5
    """
    if x.dim() != 3 or y.dim() != 3 or x.shape[0] != y.shape[0] or x.shape[2] != y.shape[2]:
        msg = f"x and y must be [B, N, D] and [B, M, D], got {tuple(x.shape)} and {tuple(y.shape)}"
        raise ValueError(msg)
    x_mask, y_mask = _mask_or_all(x, x_mask), _mask_or_all(y, y_mask)
    nx, ny = x_mask.sum(-1), y_mask.sum(-1)
    lonely = (nx == 0) != (ny == 0)
    if bool(lonely.any()):
        jet = int(torch.nonzero(lonely)[0])
        msg = f"jet {jet}: one set is empty and the other has {int(max(nx[jet], ny[jet]))} points"
        raise ValueError(msg)
    # padded slots are never read: whatever they hold (NaN, inf) reaches neither the
    # value nor the gradients (a NaN behind torch.where would still poison the backward)
    x = torch.where(x_mask[..., None], x, torch.zeros_like(x))
    y = torch.where(y_mask[..., None], y, torch.zeros_like(y))
    scale = torch.ones(x.shape[-1], dtype=x.dtype, device=x.device)
    scale[0] = w_energy
    diff = x[:, :, None, :] - y[:, None, :, :]
    d2 = (diff**2 * scale).sum(-1)
    dist = d2 if squared else torch.sqrt(d2 + 1e-12)
    big = torch.finfo(dist.dtype).max
    pair = x_mask[:, :, None] & y_mask[:, None, :]
    dist = torch.where(pair, dist, torch.full_like(dist, big))
    to_y = dist.min(dim=2).values.masked_fill(~x_mask, 0.0)
    to_x = dist.min(dim=1).values.masked_fill(~y_mask, 0.0)
    per_jet = (point_weights(x, x_mask, alpha) * to_y).sum(-1) + (
        point_weights(y, y_mask, alpha) * to_x
    ).sum(-1)
    return _reduce(per_jet, reduction)


def _mask_or_all(points: Tensor, mask: Tensor | None) -> Tensor:
    """The boolean mask ``[B, N]``, all real points when ``None``."""
    if mask is None:
        return torch.ones(points.shape[:2], dtype=torch.bool, device=points.device)
    return mask.bool()


def _reduce(per_jet: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return per_jet.mean()
    if reduction == "sum":
        return per_jet.sum()
    if reduction == "none":
        return per_jet
    msg = f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}"
    raise ValueError(msg)


def emd_distance(
    x: Tensor,
    y: Tensor,
    x_mask: Tensor | None = None,
    y_mask: Tensor | None = None,
    alpha: float | None = None,
) -> Tensor:
    """Exact earth mover's distance per jet with POT (``ot.emd2``), Euclidean ground cost.

    Point masses as in :func:`chamfer_distance` (uniform or ``pT**alpha``). Solved
    one jet at a time; differentiable through POT's torch backend.

    Shapes:
        x: ``[B, N, D]``; y: ``[B, M, D]``; output ``[B]``.

    Examples:
        >>> x = torch.tensor([[[0.0], [2.0]]], dtype=torch.float64)
        >>> y = torch.tensor([[[1.0], [3.0]]], dtype=torch.float64)
        >>> emd_distance(x, y).tolist()
        [1.0]
    """
    import ot

    x_mask, y_mask = _mask_or_all(x, x_mask), _mask_or_all(y, y_mask)
    x = torch.where(x_mask[..., None], x, torch.zeros_like(x))
    y = torch.where(y_mask[..., None], y, torch.zeros_like(y))
    a, b = point_weights(x, x_mask, alpha), point_weights(y, y_mask, alpha)
    out = []
    for j in range(x.shape[0]):  # one optimal-transport problem per jet
        xi, yi = x[j][x_mask[j]], y[j][y_mask[j]]
        cost = torch.cdist(xi, yi)
        out.append(ot.emd2(a[j][x_mask[j]], b[j][y_mask[j]], cost))
    return torch.stack(out)

r"""Jet-feature and consistency losses.

The jet-feature loss is a weighted mean squared error on predicted jet features
(``pT, eta, mass`` in whatever units the model uses). The consistency loss compares the
summed generated 4-momenta with the jet 4-momentum they should add up to:

.. math::

    L = \frac{1}{B}\sum_b \Big[\lVert P_b - Q_b \rVert_2^2
        + w_m \big(\ln m(P_b) - \ln m(Q_b)\big)^2\Big],

with :math:`P_b` the masked sum of the generated particles, :math:`Q_b` the target
(the masked sum of the real particles, or a given jet 4-momentum), the Euclidean norm
over ``(E, px, py, pz)`` and :math:`m^2` floored at ``1e-8`` (same units as the
4-vectors). The mass term matters: a 40 % mass deficit moves the 4-vector term of a jet
in its frame (pT = 1) by only ~1e-4. :class:`hypervae.HyperVAE` uses exactly this
function.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["consistency_loss", "jet_feature_loss", "jet_features_from_particles", "log_mass"]


def jet_feature_loss(
    pred: Tensor, target: Tensor, weights: Sequence[float] | None = None
) -> Tensor:
    """Weighted MSE over jet features, averaged over jets.

    Shapes:
        pred, target: ``[B, F]``; output ``[]``.

    Examples:
        >>> float(jet_feature_loss(torch.tensor([[1.0, 2.0]]), torch.tensor([[0.0, 0.0]]), [1.0, 0.5]))
        3.0
    """
    if pred.shape != target.shape:
        msg = f"pred and target must have the same shape, got {tuple(pred.shape)} and {tuple(target.shape)}"
        raise ValueError(msg)
    w = (
        torch.ones(pred.shape[-1], dtype=pred.dtype, device=pred.device)
        if weights is None
        else torch.as_tensor(weights, dtype=pred.dtype, device=pred.device)
    )
    return ((pred - target) ** 2 * w).sum(-1).mean()


def jet_features_from_particles(p4: Tensor, mask: Tensor) -> Tensor:
    r"""``(pT, eta, mass)`` of the summed 4-momenta ``(E, px, py, pz)``.

    Shapes:
        p4: ``[B, P, 4]``; mask: ``[B, P]``; output ``[B, 3]``.
    """
    jet = torch.where(mask[..., None], p4, torch.zeros_like(p4)).sum(1)
    energy, px, py, pz = jet.unbind(-1)
    pt = torch.sqrt(px**2 + py**2 + 1e-12)
    eta = torch.asinh(pz / pt)
    mass = torch.sqrt(torch.clamp(energy**2 - px**2 - py**2 - pz**2, min=1e-12))
    return torch.stack([pt, eta, mass], -1)


def log_mass(p4: Tensor, floor: float = 1e-8) -> Tensor:
    """``ln m`` of 4-vectors ``(E, px, py, pz)`` with ``m^2`` floored at ``floor``.

    Shapes:
        p4: ``[..., 4]``; output ``[...]``.

    Examples:
        >>> round(float(log_mass(torch.tensor([5.0, 0.0, 0.0, 4.0])).exp()), 6)
        3.0
    """
    m2 = p4[..., 0] ** 2 - (p4[..., 1:] ** 2).sum(-1)
    return 0.5 * torch.log(m2.clamp(min=floor))


def _masked_sum(p4: Tensor, mask: Tensor) -> Tensor:
    return torch.where(mask.bool()[..., None], p4, torch.zeros_like(p4)).sum(1)


def consistency_loss(
    p4: Tensor,
    mask: Tensor,
    target: Tensor,
    target_mask: Tensor | None = None,
    mass_weight: float = 1.0,
    weights: Sequence[float] | None = None,
) -> Tensor:
    r"""The summed particles against the jet 4-momentum (see the module docstring).

    Arguments:
        p4: Generated particles ``(E, px, py, pz)``.
        mask: Which generated particles count.
        target: Real particles ``[B, P', 4]`` (with ``target_mask``) or the jet
            4-momentum ``[B, 4]``.
        target_mask: Which real particles count (``None`` when ``target`` is ``[B, 4]``).
        mass_weight: :math:`w_m`, the weight of the log-mass term.
        weights: Deprecated: with ``target`` = ``(pT, eta, mass)`` ``[B, 3]``, the old
            feature MSE ``jet_feature_loss(jet_features_from_particles(p4, mask), target,
            weights)`` (kept for one release).

    Shapes:
        p4: ``[B, P, 4]``; mask: ``[B, P]``; target: ``[B, P', 4]`` or ``[B, 4]``;
        output ``[]``.

    Examples:
        >>> p = torch.tensor([[[5.0, 3.0, 0.0, 4.0], [5.0, -3.0, 0.0, 4.0]]])
        >>> float(consistency_loss(p, torch.ones(1, 2, dtype=torch.bool), p.sum(1)))
        0.0
    """
    if weights is not None or (target_mask is None and target.shape[-1] == 3):
        warnings.warn(
            "consistency_loss with (pT, eta, mass) targets is deprecated: pass the jet "
            "4-momentum [B, 4] or the real particles and their mask",
            DeprecationWarning,
            stacklevel=2,
        )
        return jet_feature_loss(jet_features_from_particles(p4, mask.bool()), target, weights)
    summed = _masked_sum(p4, mask)
    if target_mask is not None:
        target = _masked_sum(target.to(p4.dtype), target_mask)
    if target.shape != summed.shape:
        msg = (
            f"consistency_loss: target must be [B, 4] (or [B, P', 4] with target_mask), got "
            f"{tuple(target.shape)} for {summed.shape[0]} jets"
        )
        raise ValueError(msg)
    target = target.to(summed.dtype)
    momentum = ((summed - target) ** 2).sum(-1).mean()
    return momentum + mass_weight * ((log_mass(summed) - log_mass(target)) ** 2).mean()

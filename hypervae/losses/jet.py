r"""Jet-feature and consistency losses.

The jet-feature loss is a weighted mean squared error on predicted jet features
(``pT, eta, mass`` in whatever units the model uses). The consistency loss compares the
summed generated 4-momenta with the jet features they should add up to.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["consistency_loss", "jet_feature_loss", "jet_features_from_particles"]


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


def consistency_loss(
    p4: Tensor, mask: Tensor, jet_features: Tensor, weights: Sequence[float] | None = None
) -> Tensor:
    """MSE between the jet features of the summed particles and the given ones.

    Shapes:
        p4: ``[B, P, 4]``; mask: ``[B, P]``; jet_features: ``[B, 3]`` (pT, eta, mass);
        output ``[]``.
    """
    return jet_feature_loss(jet_features_from_particles(p4, mask.bool()), jet_features, weights)

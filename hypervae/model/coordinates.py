r"""Relative particle coordinates of a jet: masses, 4-vectors and the mass projection.

The flow decoder works in coordinates relative to the particle-sum jet,
:math:`(\eta_\mathrm{rel}, \phi_\mathrm{rel}, \ln p_{T,\mathrm{rel}})` of massless
particles. This module turns them into the jet's :math:`\ln(m/p_T)`
(:func:`relative_log_mass`) and into 4-momenta (:func:`to_four_vectors`), and scales a
jet's angular spread to a given :math:`\ln(m/p_T)` (:func:`scale_to_log_mass`).

Example:
    >>> import torch
    >>> coords = torch.tensor([[[0.1, 0.0, 0.0], [-0.1, 0.0, 0.0]]], dtype=torch.float64)
    >>> mask = torch.ones(1, 2, dtype=torch.bool)
    >>> round(float(relative_log_mass(coords, mask).exp()), 3)  # m/pT of two hard prongs
    0.1
    >>> scaled = scale_to_log_mass(coords, mask, torch.tensor([-1.5], dtype=torch.float64))
    >>> round(float(relative_log_mass(scaled, mask)), 6)
    -1.5
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = [
    "ranked_log_pt",
    "relative_coordinates",
    "relative_log_mass",
    "scale_to_log_mass",
    "to_four_vectors",
]


def relative_log_mass(coords: Tensor, mask: Tensor, floor: float = 1e-4) -> Tensor:
    r"""``ln(m/pT)`` of the particle-sum jet from massless relative coordinates.

    Exact for massless particles: :math:`m` and :math:`p_T` are unchanged by the
    longitudinal boost and the azimuthal rotation that relate the relative coordinates
    to the lab. :math:`m/p_T` is floored at ``floor`` (one-particle jets are massless).

    Shapes:
        coords ``[B, P, 3]`` (eta_rel, phi_rel, ln pt_rel), mask ``[B, P]`` -> ``[B]``.
    """
    p4 = _massless(coords, mask)
    total = p4.sum(1)
    m2 = total[:, 0] ** 2 - (total[:, 1:] ** 2).sum(-1)
    pt = total[:, 1:3].norm(dim=-1).clamp(min=1e-12)
    return torch.log((m2.clamp(min=0).sqrt() / pt).clamp(min=floor))


def _massless(coords: Tensor, mask: Tensor) -> Tensor:
    """``(E, px, py, pz)`` of massless particles at ``(eta, phi, ln pt)``; zero on padding."""
    keep = mask.to(torch.bool)
    zero = torch.zeros((), dtype=coords.dtype, device=coords.device)
    eta, phi, lnpt = (torch.where(keep, coords[..., k], zero) for k in range(3))
    pt = torch.where(keep, lnpt.exp(), zero)
    return torch.stack([pt * eta.cosh(), pt * phi.cos(), pt * phi.sin(), pt * eta.sinh()], -1)


def to_four_vectors(
    coords: Tensor,
    mask: Tensor,
    jet_pt: Tensor | float = 1.0,
    jet_eta: Tensor | float = 0.0,
    jet_phi: Tensor | float = 0.0,
) -> Tensor:
    """Massless float64 4-momenta ``(E, px, py, pz)`` of particles in relative coordinates.

    The particles are placed about the jet direction ``(jet_eta, jet_phi)`` and their
    :math:`p_T` scaled so that the particle-sum jet has transverse momentum ``jet_pt``.

    Shapes:
        coords ``[B, P, 3]`` (eta_rel, phi_rel, ln pt_rel), mask ``[B, P]``, jet values
        scalars or ``[B]`` -> ``[B, P, 4]`` (zero on padding).
    """
    c = coords.double()
    b = c.shape[0]

    def per_jet(value: Tensor | float) -> Tensor:
        return torch.as_tensor(value, dtype=torch.float64, device=c.device).expand(b)

    pt_sum = _massless(c, mask).sum(1)[:, 1:3].norm(dim=-1).clamp(min=1e-300)
    scale = torch.log(per_jet(jet_pt) / pt_sum)
    lab = torch.stack(
        [c[..., 0] + per_jet(jet_eta)[:, None], c[..., 1] + per_jet(jet_phi)[:, None], c[..., 2]],
        -1,
    )
    lab[..., 2] = lab[..., 2] + scale[:, None]
    return _massless(lab, mask)


def _scale_angles(coords: Tensor, log_scale: Tensor) -> Tensor:
    factor = log_scale.exp()[:, None]
    return torch.stack([coords[..., 0] * factor, coords[..., 1] * factor, coords[..., 2]], -1)


def scale_to_log_mass(
    coords: Tensor,
    mask: Tensor,
    log_m_over_pt: Tensor,
    iterations: int = 10,
    max_factor: float = 3.0,
) -> Tensor:
    r"""Scales each jet's angular spread so its particle-sum :math:`\ln(m/p_T)` is the given one.

    Every particle's :math:`(\eta_\mathrm{rel}, \phi_\mathrm{rel})` is multiplied by one
    factor :math:`\lambda` per jet; the momentum fractions are untouched. For small
    angles :math:`m \propto \lambda`, so the fixed-point update
    :math:`\ln\lambda \mathrel{+}= \ln(m/p_T)_\mathrm{target} - \ln(m/p_T)` converges in
    a few iterations (to ~1e-6 in ten even for jets as wide as m/pT = 0.8). :math:`\lambda`
    is kept within ``[1 / max_factor, max_factor]``; jets with fewer than two particles or
    no spread are returned unchanged (their mass cannot be set by scaling).

    Shapes:
        coords ``[B, P, 3]`` (eta_rel, phi_rel, ln pt_rel), mask ``[B, P]``,
        log_m_over_pt ``[B]`` -> ``[B, P, 3]`` float64.
    """
    c = coords.double()
    target = log_m_over_pt.double().to(c.device)
    keep = mask.to(torch.bool)
    spread = torch.where(keep, c[..., 0].abs() + c[..., 1].abs(), torch.zeros_like(c[..., 0]))
    movable = (keep.sum(1) >= 2) & (spread.amax(1) > 0)
    bound = math.log(max_factor)
    log_scale = torch.zeros(c.shape[0], dtype=torch.float64, device=c.device)
    for _ in range(iterations):
        current = relative_log_mass(_scale_angles(c, log_scale), mask, floor=1e-300)
        log_scale = (log_scale + target - current).clamp(-bound, bound)
    log_scale = torch.where(movable, log_scale, torch.zeros_like(log_scale))
    return torch.where(keep[..., None], _scale_angles(c, log_scale), torch.zeros_like(c))


def relative_coordinates(p4: Tensor, mask: Tensor) -> Tensor:
    """``(eta_rel, phi_rel, ln pt_rel)`` of particles relative to their sum (zero on padding).

    The convention of :func:`hypervae.physics.to_relative` (pseudorapidity and azimuth
    differences, pT ratio to the particle-sum jet's pT).

    Shapes:
        p4 ``[B, P, 4]`` ``(E, px, py, pz)``, mask ``[B, P]`` -> ``[B, P, 3]``.
    """
    keep = mask.to(torch.bool)
    p4 = torch.where(keep[..., None], p4, torch.zeros((), dtype=p4.dtype, device=p4.device))
    total = p4.sum(1)
    pt = p4[..., 1:3].norm(dim=-1)
    one = torch.ones((), dtype=p4.dtype, device=p4.device)
    safe_pt = torch.where(keep, pt, one).clamp(min=1e-30)
    eta = torch.asinh(p4[..., 3] / safe_pt)
    phi = torch.atan2(p4[..., 2], p4[..., 1])
    jet_pt = total[:, 1:3].norm(dim=-1).clamp(min=1e-30)
    jet_eta = torch.asinh(total[:, 3] / jet_pt)
    jet_phi = torch.atan2(total[:, 2], total[:, 1])
    dphi = torch.remainder(phi - jet_phi[:, None] + math.pi, 2 * math.pi) - math.pi
    coords = torch.stack([eta - jet_eta[:, None], dphi, torch.log(safe_pt / jet_pt[:, None])], -1)
    return torch.where(keep[..., None], coords, torch.zeros((), dtype=p4.dtype, device=p4.device))


def ranked_log_pt(coords: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """Each particle's rank by pT in its jet (0 = hardest) and the order that sorts them.

    Shapes:
        coords ``[B, P, 3]`` (``ln pt_rel`` last), mask ``[B, P]`` -> rank ``[B, P]``
        (padded particles rank after the real ones), order ``[B, P]`` (indices, hardest
        first).

    Example:
        >>> coords = torch.tensor([[[0.0, 0.0, -2.0], [0.0, 0.0, -1.0], [0.0, 0.0, 5.0]]])
        >>> rank, order = ranked_log_pt(coords, torch.tensor([[True, True, False]]))
        >>> rank.tolist(), order.tolist()
        ([[1, 0, 2]], [[1, 0, 2]])
    """
    low = torch.full((), -math.inf, dtype=coords.dtype, device=coords.device)
    key = torch.where(mask.to(torch.bool), coords[..., 2], low)
    order = key.argsort(dim=1, descending=True, stable=True)
    return order.argsort(dim=1), order

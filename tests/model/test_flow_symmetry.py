"""What the shipped flow decoder's symmetry is, measured (docs/concepts/lorentz-equivariance.md).

The flow decoder generates particles in coordinates relative to their own jet
(eta_rel, phi_rel, ln pT_rel); :func:`hypervae.model.flow_decoder.to_four_vectors` places them at
the jet head's (pT, eta) and a uniform azimuth. Moving the jet's azimuth rotates every
particle about the beam, and moving its pseudorapidity boosts every (massless) particle
along the beam, exactly: the output is covariant under rotations about the beam and
longitudinal boosts, and nothing more is claimed.
"""

from __future__ import annotations

import math

import torch

from hypervae.model.flow_decoder import to_four_vectors


def _coords(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    coords = torch.randn(4, 7, 3, generator=gen, dtype=torch.float64) * torch.tensor(
        [0.1, 0.1, 1.0], dtype=torch.float64
    )
    mask = torch.arange(7)[None, :] < torch.tensor([7, 5, 3, 1])[:, None]
    return coords, mask


def _rotate_z(p4: torch.Tensor, angle: float) -> torch.Tensor:
    c, s = math.cos(angle), math.sin(angle)
    e, px, py, pz = p4.unbind(-1)
    return torch.stack([e, c * px - s * py, s * px + c * py, pz], -1)


def _boost_z(p4: torch.Tensor, rapidity: float) -> torch.Tensor:
    ch, sh = math.cosh(rapidity), math.sinh(rapidity)
    e, px, py, pz = p4.unbind(-1)
    return torch.stack([ch * e + sh * pz, px, py, sh * e + ch * pz], -1)


def test_moving_the_jet_azimuth_rotates_every_particle_about_the_beam():
    coords, mask = _coords()
    base = to_four_vectors(coords, mask, 900.0, 0.4, 0.3)
    for angle in (0.7, -2.0, math.pi):
        moved = to_four_vectors(coords, mask, 900.0, 0.4, 0.3 + angle)
        torch.testing.assert_close(moved, _rotate_z(base, angle), rtol=0, atol=1e-9)


def test_moving_the_jet_eta_boosts_every_massless_particle_along_the_beam():
    coords, mask = _coords(1)
    base = to_four_vectors(coords, mask, 900.0, 0.2, -1.0)
    for shift in (0.5, -1.3):
        moved = to_four_vectors(coords, mask, 900.0, 0.2 + shift, -1.0)
        torch.testing.assert_close(moved, _boost_z(base, shift), rtol=1e-10, atol=1e-8)


def test_particles_are_massless_and_sum_to_the_requested_pt():
    coords, mask = _coords(2)
    p4 = to_four_vectors(coords, mask, torch.tensor([500.0, 700.0, 900.0, 1000.0]), 0.0, 0.0)
    m2 = p4[..., 0] ** 2 - (p4[..., 1:] ** 2).sum(-1)
    assert float((m2.abs() / p4[..., 0].clamp(min=1e-12) ** 2)[mask].max()) < 1e-12
    total = p4.sum(1)
    torch.testing.assert_close(
        total[:, 1:3].norm(dim=-1),
        torch.tensor([500.0, 700.0, 900.0, 1000.0], dtype=torch.float64),
        rtol=1e-12,
        atol=0.0,
    )

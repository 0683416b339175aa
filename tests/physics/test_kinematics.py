from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import vector

from hypervae import physics as P
from tests.conftest import boost_z, random_padded, rotate_z


def minkowski(a, b):
    return a[..., 0] * b[..., 0] - (a[..., 1:] * b[..., 1:]).sum(-1)


def test_hand_values():
    assert P.ptetaphim_to_cartesian(3.0, 0.0, 0.0, 4.0).tolist() == [5.0, 3.0, 0.0, 0.0]
    # eta = asinh(pz / pt): pt = 3, pz = 4 -> eta = asinh(4/3)
    pt, eta, phi, m = P.cartesian_to_ptetaphim(np.array([5.0, 0.0, 3.0, 4.0]))
    assert (float(pt), float(phi), float(m)) == pytest.approx((3.0, np.pi / 2, 0.0))
    assert float(eta) == pytest.approx(np.arcsinh(4 / 3))
    # massless rapidity equals pseudorapidity
    p4 = P.ptetaphim_to_cartesian(2.0, 1.3, 0.2, 0.0)
    assert float(P.rapidity(p4)) == pytest.approx(1.3, abs=1e-12)


def test_cartesian_round_trip(rng):
    pt = rng.exponential(50, 1000) + 1e-3
    eta = rng.uniform(-4, 4, 1000)
    phi = rng.uniform(-np.pi, np.pi, 1000)
    m = rng.uniform(0, 5, 1000)
    back = P.cartesian_to_ptetaphim(P.ptetaphim_to_cartesian(pt, eta, phi, m))
    for got, want in zip(back, (pt, eta, phi, m), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-7)


def test_agrees_with_vector(rng):
    pt, eta, phi, m = (
        rng.exponential(50, 50),
        rng.normal(0, 2, 50),
        rng.uniform(-3, 3, 50),
        rng.uniform(0, 2, 50),
    )
    v = vector.array({"pt": pt, "eta": eta, "phi": phi, "mass": m})
    p4 = P.ptetaphim_to_cartesian(pt, eta, phi, m)
    np.testing.assert_allclose(p4, np.stack([v.E, v.px, v.py, v.pz], -1), rtol=1e-12)
    np.testing.assert_allclose(P.rapidity(p4), v.rapidity, rtol=1e-10, atol=1e-12)


def test_wrap_phi_interval():
    phi = np.array([np.pi, -np.pi, 3 * np.pi, 2 * np.pi, -0.5, 7.0])
    wrapped = P.wrap_phi(phi)
    assert np.all(wrapped > -np.pi)
    assert np.all(wrapped <= np.pi)
    np.testing.assert_allclose(
        wrapped, [np.pi, np.pi, np.pi, 0.0, -0.5, 7.0 - 2 * np.pi], atol=1e-12
    )


def test_padded_round_trip(padded):
    p4, mask = padded
    parts = P.from_padded(p4, mask)
    assert ak.num(parts).tolist() == mask.sum(1).tolist()
    p4b, maskb = P.to_padded(parts)
    np.testing.assert_array_equal(maskb, mask)
    np.testing.assert_allclose(p4b, p4, rtol=1e-10, atol=1e-9)


def test_to_padded_refuses_truncation(particles):
    with pytest.raises(ValueError, match=r"jet 0 has 9 particles, more than max_particles=4"):
        P.to_padded(particles, max_particles=4)


def test_jet_p4_matches_loop(particles, padded):
    p4, mask = padded
    expected = np.array(
        [
            [sum(p4[j, i, k] for i in range(p4.shape[1]) if mask[j, i]) for k in range(4)]
            for j in range(len(p4))
        ]
    )
    np.testing.assert_allclose(P.jet_p4(particles), expected, rtol=1e-12)


def test_relative_round_trip(particles):
    rel = P.to_relative(particles)
    phi_rel = ak.flatten(rel.phi_rel).to_numpy()
    assert np.all(phi_rel > -np.pi)
    assert np.all(phi_rel <= np.pi)
    jet_pt, jet_eta, jet_phi, _ = P.cartesian_to_ptetaphim(P.jet_p4(particles))
    # pt_rel sums to sum(pt) / jet pt >= 1 (vector sum shorter than scalar sum)
    assert np.all(ak.sum(rel.pt_rel, axis=1).to_numpy() >= 1 - 1e-12)
    back = P.from_relative(rel, jet_pt, jet_eta, jet_phi, mass=particles.mass)
    for field in ("pt", "eta", "mass"):
        np.testing.assert_allclose(
            ak.flatten(back[field]).to_numpy(),
            ak.flatten(particles[field]).to_numpy(),
            rtol=1e-10,
            atol=1e-12,
        )
    dphi = P.wrap_phi(ak.flatten(back.phi).to_numpy() - ak.flatten(particles.phi).to_numpy())
    np.testing.assert_allclose(dphi, 0, atol=1e-12)


@pytest.mark.parametrize("scale", ["pt", "energy", 100.0])
def test_jet_frame(padded, scale):
    p4, mask = padded
    frame_p4, frame = P.to_jet_frame(p4, mask, scale=scale)
    jet = frame_p4.sum(1)
    np.testing.assert_allclose(jet[:, 2], 0, atol=1e-12)  # azimuth 0
    np.testing.assert_allclose(jet[:, 3], 0, atol=1e-12)  # rapidity 0
    assert np.all(jet[:, 1] > 0)
    if scale == "pt":
        np.testing.assert_allclose(jet[:, 1], 1.0, rtol=1e-12)
    if scale == "energy":
        np.testing.assert_allclose(jet[:, 0], 1.0, rtol=1e-12)
    # a Lorentz transformation times a scale: all Minkowski products scale by 1/s^2
    s2 = frame.scale[:, None, None] ** 2
    lab = minkowski(p4[:, :, None], p4[:, None, :])
    new = minkowski(frame_p4[:, :, None], frame_p4[:, None, :])
    np.testing.assert_allclose(new * s2, lab, rtol=1e-9, atol=1e-6)
    assert np.all(frame_p4[~mask] == 0)
    back = P.from_jet_frame(frame_p4, mask, frame)
    np.testing.assert_allclose(back, p4, rtol=1e-12, atol=1e-9)


def test_jet_frame_matches_vector_boost(padded):
    p4, mask = padded
    frame_p4, frame = P.to_jet_frame(p4, mask, scale=1.0)
    j = 0
    v = vector.array({"E": p4[j, :, 0], "px": p4[j, :, 1], "py": p4[j, :, 2], "pz": p4[j, :, 3]})
    moved = v.boostZ(beta=-np.tanh(frame.rapidity[j])).rotateZ(-frame.phi[j])
    ref = np.stack([moved.E, moved.px, moved.py, moved.pz], -1)
    np.testing.assert_allclose(frame_p4[j][mask[j]], ref[mask[j]], rtol=1e-9, atol=1e-9)


def test_jet_frame_is_invariant(padded, rng):
    """The frame removes boosts and rotations: transformed jets land on the same frame."""
    p4, mask = padded
    moved = rotate_z(boost_z(p4, rng.normal()), rng.uniform(-3, 3))
    a, _ = P.to_jet_frame(p4, mask)
    b, _ = P.to_jet_frame(moved, mask)
    np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


def test_frame_rejects_empty_jet():
    p4, mask = random_padded(np.random.default_rng(0), 3, 4)
    mask[1] = False
    with pytest.raises(ValueError, match="jet 1"):
        P.to_jet_frame(p4, mask)


def test_particles_of_errors():
    with pytest.raises(TypeError, match="awkward Array"):
        P.particles_of(np.zeros(3))
    with pytest.raises(ValueError, match="N \\* var \\* Momentum4D"):
        P.particles_of(ak.Array([1.0, 2.0]))

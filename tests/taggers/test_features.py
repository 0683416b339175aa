from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hypervae.taggers.features import (
    FEATURE_NAMES,
    HLS4ML_FEATURE_NAMES,
    STANDARDISATION,
    check_inputs,
    hls4ml_features,
    kinematics,
    particle_features,
    standardise_hls4ml,
    tagger_inputs,
)

from .conftest import make_p4, with_garbage_padding


def test_published_part_constants():
    assert STANDARDISATION["ln_pt"] == (1.7, 0.7)
    assert STANDARDISATION["ln_e"] == (2.0, 0.7)
    assert STANDARDISATION["ln_pt_rel"] == (-4.7, 0.7)
    assert STANDARDISATION["ln_e_rel"] == (-4.7, 0.7)
    assert STANDARDISATION["dr"] == (0.2, 4.0)
    assert set(FEATURE_NAMES) == set(STANDARDISATION)


def test_feature_values_on_hand_built_jet():
    pt = torch.tensor([[100.0, 50.0, 0.0]], dtype=torch.float64)
    eta = torch.tensor([[0.1, -0.2, 0.0]], dtype=torch.float64)
    phi = torch.tensor([[3.1, -3.1, 0.0]], dtype=torch.float64)  # straddles the phi = pi boundary
    p4 = make_p4(pt, eta, phi)
    mask = torch.tensor([[True, True, False]])
    x = particle_features(p4, mask)
    assert x.shape == (1, 3, 9)
    assert torch.all(x[0, 2] == 0)
    jet = p4[0, :2].sum(0).numpy()
    jet_pt = math.hypot(jet[1], jet[2])
    jet_eta = math.asinh(jet[3] / jet_pt)
    jet_phi = math.atan2(jet[2], jet[1])
    energy = p4[0, 0, 0].item()
    dphi = (3.1 - jet_phi + math.pi) % (2 * math.pi) - math.pi
    expected = [
        (math.log(100.0) - 1.7) * 0.7,
        (math.log(energy) - 2.0) * 0.7,
        (math.log(100.0 / jet_pt) + 4.7) * 0.7,
        (math.log(energy / jet[0]) + 4.7) * 0.7,
        (math.hypot(0.1 - jet_eta, dphi) - 0.2) * 4.0,
        0.1 - jet_eta,
        dphi,
        0.1,
        3.1,
    ]
    np.testing.assert_allclose(x[0, 0].numpy(), expected, rtol=1e-9, atol=1e-9)
    assert abs(dphi) < 0.2  # wrapped, not ~2 pi


def test_clipping_and_optional_columns():
    p4 = make_p4(torch.tensor([[1e-6, 100.0]]), torch.zeros(1, 2), torch.zeros(1, 2))
    mask = torch.ones(1, 2, dtype=torch.bool)
    x = particle_features(p4, mask, absolute_eta_phi=False)
    assert x.shape == (1, 2, 7)
    assert x[0, 0, 0].item() == -5.0  # (ln 1e-6 - 1.7) * 0.7 = -10.8, clipped
    extra = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])
    y = particle_features(p4, mask, extra=extra)
    assert y.shape == (1, 2, 11)
    assert torch.equal(y[..., 9:], extra.double())


def test_padding_values_are_ignored(jets):
    p4, mask = jets
    x = particle_features(p4, mask)
    p4g, maskg = with_garbage_padding(p4, mask, value=1e30)
    xg = particle_features(p4g, maskg)
    torch.testing.assert_close(xg[:, : p4.shape[1]], x)
    assert torch.all(xg[~maskg] == 0)
    k = kinematics(p4g, maskg)
    assert torch.isfinite(k["pt_jet"]).all()


def test_check_inputs_names_field_and_jet(jets):
    p4, mask = jets
    bad_mask = mask.clone()
    bad_mask[2] = False
    with pytest.raises(ValueError, match="jet 2 has no real particle"):
        check_inputs(p4, bad_mask)
    bad = p4.clone()
    bad[1, 0, 0] = math.inf
    with pytest.raises(ValueError, match=r"p4: jet 1 has a non-finite"):
        check_inputs(bad, mask)
    with pytest.raises(ValueError, match=r"p4: expected shape \[B, P, 4\]"):
        check_inputs(p4[..., :3], mask)
    with pytest.raises(ValueError, match="mask: expected shape"):
        check_inputs(p4, mask[:, :2])


def _reference_hls4ml(p4_jet):
    """Slow per-particle reference of the 16 hls4ml features (plain Python math)."""
    jet = [sum(p[i] for p in p4_jet) for i in range(4)]
    jpt = math.hypot(jet[1], jet[2])
    jeta, jphi = math.asinh(jet[3] / jpt), math.atan2(jet[2], jet[1])
    jp = math.sqrt(jet[1] ** 2 + jet[2] ** 2 + jet[3] ** 2)
    theta_j = math.atan2(jet[3], jpt)  # angle of the jet above the transverse plane
    rows = []
    for e, px, py, pz in p4_jet:
        pt = math.hypot(px, py)
        eta, phi = math.asinh(pz / pt), math.atan2(py, px)
        dphi = (phi - jphi + math.pi) % (2 * math.pi) - math.pi
        # rotate: about z by -phi_jet, then about y so that the jet lies on +x
        x1 = px * math.cos(jphi) + py * math.sin(jphi)
        y1 = -px * math.sin(jphi) + py * math.cos(jphi)
        x2 = x1 * math.cos(theta_j) + pz * math.sin(theta_j)
        z2 = -x1 * math.sin(theta_j) + pz * math.cos(theta_j)
        p = math.sqrt(px * px + py * py + pz * pz)
        rows.append([
            px, py, pz, e, e / jet[0], pt, pt / jpt, eta, eta - jeta,
            math.asinh(z2 / math.hypot(x2, y1)), phi, dphi, math.atan2(y1, x2),
            math.hypot(eta - jeta, dphi), pz / p,
            (px * jet[1] + py * jet[2] + pz * jet[3]) / (p * jp),
        ])  # fmt: skip
    return rows


def _rot_z(p4, angle):
    c, s = math.cos(angle), math.sin(angle)
    e, px, py, pz = p4.unbind(-1)
    return torch.stack([e, c * px - s * py, s * px + c * py, pz], -1)


def _rot_x(p4, angle):
    c, s = math.cos(angle), math.sin(angle)
    e, px, py, pz = p4.unbind(-1)
    return torch.stack([e, px, c * py - s * pz, s * py + c * pz], -1)


def _boost_z(p4, rapidity):
    c, s = math.cosh(rapidity), math.sinh(rapidity)
    e, px, py, pz = p4.unbind(-1)
    return torch.stack([c * e + s * pz, px, py, s * e + c * pz], -1)


@pytest.fixture
def hls_jets():
    g = torch.Generator().manual_seed(3)
    pt = 1.0 + 300.0 * torch.rand(2, 7, generator=g, dtype=torch.float64)
    eta = 0.4 + 0.3 * torch.randn(2, 7, generator=g, dtype=torch.float64)
    phi = 3.0 + 0.3 * torch.randn(2, 7, generator=g, dtype=torch.float64)  # across phi = pi
    mask = torch.tensor([[True] * 7, [True] * 4 + [False] * 3])
    p4 = torch.where(mask[..., None], make_p4(pt, eta, phi, 0.1), torch.zeros(()))
    return p4, mask


def test_hls4ml_features_match_a_slow_reference(hls_jets):
    p4, mask = hls_jets
    x = hls4ml_features(p4.float(), mask)  # float32 storage, float64 computation
    assert x.dtype == torch.float64
    assert x.shape == (2, 7, len(HLS4ML_FEATURE_NAMES)) == (2, 7, 16)
    assert torch.all(x[1, 4:] == 0)
    for j in range(2):
        n = int(mask[j].sum())
        ref = torch.tensor(
            _reference_hls4ml(p4[j, :n].float().double().tolist()), dtype=torch.float64
        )
        torch.testing.assert_close(x[j, :n], ref, atol=1e-9, rtol=1e-9)
    z = standardise_hls4ml(x)
    assert z.shape == x.shape
    assert z.abs().max() <= 5.0


def test_hls4ml_feature_symmetries(hls_jets):
    p4, mask = hls_jets
    names = list(HLS4ML_FEATURE_NAMES)
    x = hls4ml_features(p4, mask)

    def same(other, cols):
        idx = [names.index(c) for c in cols]
        torch.testing.assert_close(other[..., idx], x[..., idx], atol=1e-9, rtol=1e-9)

    beam_rotation = {"erel", "pt", "ptrel", "eta", "etarel", "phirel", "etarot", "phirot", "deltaR"}
    same(hls4ml_features(_rot_z(p4, 1.1), mask), beam_rotation | {"costheta", "costhetarel", "e"})
    same(hls4ml_features(_rot_x(p4, 0.7), mask), {"e", "erel", "costhetarel"})
    # pseudorapidity differences are not boost invariant for massive particles and jets
    same(hls4ml_features(_boost_z(p4, 0.9), mask), {"px", "py", "pt", "ptrel", "phi", "phirel"})
    # the rotation takes the jet momentum to +x: the rotated y and z momenta sum to zero
    p = x[..., [names.index(c) for c in ("px", "py", "pz")]].norm(dim=-1)
    etarot, phirot = x[..., names.index("etarot")], x[..., names.index("phirot")]
    pt_rot = p / torch.cosh(etarot)
    y_sum = (pt_rot * torch.sin(phirot) * mask).sum(1)
    z_sum = (pt_rot * torch.sinh(etarot) * mask).sum(1)
    torch.testing.assert_close(y_sum, torch.zeros(2, dtype=torch.float64), atol=1e-9, rtol=0)
    torch.testing.assert_close(z_sum, torch.zeros(2, dtype=torch.float64), atol=1e-9, rtol=0)


def test_tagger_inputs_and_extra_checks(hls_jets):
    p4, mask = hls_jets
    extra = torch.ones(2, 7, 2)
    x = tagger_inputs(p4, mask, extra, "hls4ml")
    assert x.shape == (2, 7, 18)
    assert torch.all(x[1, 4:] == 0)
    assert tagger_inputs(p4, mask, None, "part").shape == (2, 7, 9)
    bad = extra.clone()
    bad[1, 2, 0] = math.inf
    with pytest.raises(ValueError, match="extra: jet 1 has a non-finite feature"):
        check_inputs(p4, mask, bad)
    bad[1, 2, 0] = 0.0
    bad[1, 5, 0] = math.nan  # padded: fine
    check_inputs(p4, mask, bad)

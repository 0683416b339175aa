from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hypervae.taggers.features import (
    FEATURE_NAMES,
    STANDARDISATION,
    check_inputs,
    kinematics,
    particle_features,
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

"""Features are computed in float64 from the stored coordinates, whatever their dtype.

Regression tests for issue 14: ``to_padded`` built (E, px, py, pz) from float32
(pt, eta, phi, m) in float32 and cast afterwards, so the invariant mass of a nearly
collinear pair came out 0.276 GeV^2 instead of 0.060 GeV^2.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import torch

from hypervae import physics as P
from tests.conftest import random_padded


def float32_jets(pt, eta, phi, mass=None):
    """Particles stored as float32 (pt, eta, phi, mass) records, one list per jet."""
    counts = [len(v) for v in pt]
    fields = {"pt": pt, "eta": eta, "phi": phi, "mass": mass or [[0.0] * n for n in counts]}
    flat = {
        k: np.asarray([x for jet in v for x in jet], dtype=np.float32) for k, v in fields.items()
    }
    return ak.unflatten(ak.zip(flat, with_name="Momentum4D"), counts)


def slow_massless_pair(stored_a, stored_b):
    """Reference m^2 and Delta R of two massless particles, a float64 loop over the stored values.

    Uses m^2 = 4 pT_a pT_b (sinh^2(d_eta / 2) + sin^2(d_phi / 2)), free of cancellation,
    and Delta R in (y, phi) with y = eta for massless particles.
    """
    (pta, etaa, phia), (ptb, etab, phib) = ([float(v) for v in p] for p in (stored_a, stored_b))
    deta, dphi = etaa - etab, (phia - phib + math.pi) % (2 * math.pi) - math.pi
    m2 = 4 * pta * ptb * (math.sinh(deta / 2) ** 2 + math.sin(dphi / 2) ** 2)
    return m2, math.hypot(deta, dphi)


def test_collinear_float32_pair_reproducer():
    jets = float32_jets([[300.0, 200.0]], [[1.5, 1.501]], [[0.0, 0.0]])
    assert str(jets.pt.type).endswith("float32")
    stored = [(jets.pt[0, k], jets.eta[0, k], jets.phi[0, k]) for k in range(2)]
    m2_ref, dr_ref = slow_massless_pair(*stored)
    assert m2_ref == pytest.approx(0.060, rel=1e-3)
    pairs = P.pairwise(jets)
    m2 = math.exp(float(pairs.ln_m2[0, 0]))
    # float64 cancellation in (E_a + E_b)^2 - |p_a + p_b|^2 at E ~ 1000 GeV is ~1e-9
    assert m2 == pytest.approx(m2_ref, rel=5e-9)  # it was 0.276
    assert math.exp(float(pairs.ln_dr[0, 0])) == pytest.approx(dr_ref, rel=1e-10)
    # the padded 4-momenta are those of the float64 values of the stored coordinates
    p4, _ = P.to_padded(jets)
    want = P.ptetaphim_to_cartesian(
        *(np.asarray(s, dtype=np.float64) for s in zip(*stored, strict=True))
    )
    np.testing.assert_allclose(p4[0], want, rtol=1e-15)


@pytest.mark.parametrize("massive", [False, True])
def test_float32_and_float64_storage_give_identical_features(massive):
    p4, mask = random_padded(np.random.default_rng(11), n_jets=8, n_max=12, massive=massive)
    stored32 = ak.values_astype(P.from_padded(p4, mask), np.float32)
    stored64 = ak.values_astype(stored32, np.float64)  # the same numbers, stored as float64
    assert str(stored32.type) != str(stored64.type)
    a, b = P.to_padded(stored32), P.to_padded(stored64)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[0].dtype == np.float64
    np.testing.assert_array_equal(P.jet_p4(stored32), P.jet_p4(stored64))
    pairs32, pairs64 = P.pairwise(stored32), P.pairwise(stored64)
    for name in ak.fields(pairs64):
        np.testing.assert_array_equal(
            ak.to_numpy(ak.flatten(pairs32[name])), ak.to_numpy(ak.flatten(pairs64[name]))
        )
    for n in (2, 3):
        np.testing.assert_array_equal(P.eec(stored32, n=n), P.eec(stored64, n=n))
    rel32, rel64 = P.to_relative(stored32), P.to_relative(stored64)
    for name in ak.fields(rel64):
        np.testing.assert_array_equal(
            ak.to_numpy(ak.flatten(rel32[name])), ak.to_numpy(ak.flatten(rel64[name]))
        )


def test_to_padded_casts_last():
    jets = float32_jets([[300.0, 200.0]], [[1.5, 1.501]], [[0.0, 0.0]])
    p4_32, _ = P.to_padded(jets, dtype=np.float32)
    p4_64, _ = P.to_padded(jets)
    assert p4_32.dtype == np.float32
    np.testing.assert_array_equal(p4_32, p4_64.astype(np.float32))


def padded_with(value, jet=2, particle=1, component=3):
    p4, mask = random_padded(np.random.default_rng(5), n_jets=4, n_max=6)
    mask[jet, : particle + 1] = True
    p4[jet, particle, component] = value
    return p4, mask


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_pairwise_refuses_non_finite_input(value):
    p4, mask = padded_with(value)
    pattern = r"jet 2, particle 1: field 'pz' of p4 is (nan|inf|-inf); expected finite"
    with pytest.raises(ValueError, match="pairwise_features: " + pattern):
        P.pairwise_features(p4, mask)
    with pytest.raises(ValueError, match="pairwise_features_torch: " + pattern):
        P.pairwise_features_torch(torch.from_numpy(p4), torch.from_numpy(mask))
    parts = P.from_padded(np.where(np.isfinite(p4), p4, 1.0), mask)
    flat = ak.flatten(parts)
    eta = ak.to_numpy(flat.eta).copy()
    starts = np.concatenate([[0], np.cumsum(mask.sum(1))])
    eta[starts[2] + 1] = value
    bad = ak.unflatten(
        ak.zip(
            {"pt": flat.pt, "eta": eta, "phi": flat.phi, "mass": flat.mass}, with_name="Momentum4D"
        ),
        mask.sum(1),
    )
    with pytest.raises(ValueError, match=r"pairwise: jet 2, particle 1: field 'eta' is"):
        P.pairwise(bad)


def test_pairwise_ignores_non_finite_padding_in_values_and_gradients():
    p4, mask = random_padded(np.random.default_rng(6), n_jets=4, n_max=6)
    assert not mask.all()
    dirty = np.where(mask[..., None], p4, np.nan)
    np.testing.assert_array_equal(
        P.pairwise_features(dirty, mask)[0], P.pairwise_features(p4, mask)[0]
    )

    def grads(values):
        x = torch.from_numpy(values).requires_grad_(True)
        feats, w2 = P.pairwise_features_torch(x, torch.from_numpy(mask))
        (feats.sum() + w2.sum()).backward()
        return feats.detach(), x.grad

    clean, dirty_run = grads(p4), grads(dirty)
    assert torch.equal(dirty_run[0], clean[0])
    assert torch.isfinite(dirty_run[1]).all()
    assert torch.equal(dirty_run[1], clean[1])
    assert clean[1][torch.from_numpy(mask)].abs().sum() > 0


def test_physics_modules_do_not_import_torch_at_module_level():
    """physics stays torch-free to import: torch only inside functions given tensors."""
    root = Path(P.__file__).parent
    for path in sorted(root.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n.split(".")[0] == "torch" for n in names), (path.name, names)

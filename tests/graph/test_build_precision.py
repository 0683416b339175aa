"""Graph features are computed in float64 from the stored coordinates (issue 14)."""

import math

import awkward as ak
import numpy as np
import pytest
import torch

from hypervae.datasets import make_jets
from hypervae.graph import build_hypergraphs
from hypervae.physics import from_padded, ptetaphim_to_cartesian

FIELDS = ("x", "edge_attr", "hyperedge_attr", "y", "eec_hist", "frame")


def stored_jets(dtype):
    """A nearly collinear pair (pT 300, 200 GeV at eta 1.5, 1.501) plus a third particle."""
    p4 = ptetaphim_to_cartesian([[300.0, 200.0, 50.0]], [[1.5, 1.501, 1.3]], [[0.0, 0.0, 0.2]])
    particles = ak.values_astype(from_padded(p4, np.ones((1, 3), bool)), np.float32)
    return make_jets(ak.values_astype(particles, dtype), "t")


def test_float32_and_float64_storage_give_identical_graphs():
    g32, g64 = (
        build_hypergraphs(stored_jets(d), {"budget": "all"})[0] for d in (np.float32, np.float64)
    )
    for name in FIELDS:
        assert torch.equal(g32[name], g64[name]), name
    assert torch.equal(g32.edge_index, g64.edge_index)


def test_collinear_pair_mass_in_edge_attr():
    jets = stored_jets(np.float32)
    g = build_hypergraphs(jets, {"budget": "all"})[0]
    pt0, pt1 = (float(v) for v in jets.particles.pt[0, :2])
    eta0, eta1 = (float(v) for v in jets.particles.eta[0, :2])
    m2 = 4 * pt0 * pt1 * math.sinh((eta0 - eta1) / 2) ** 2  # 0.060 GeV^2 (was 0.276)
    first = (g.edge_index[0] == 0) & (g.edge_index[1] == 1)
    assert float(g.edge_attr[first, 4]) == pytest.approx(math.log(m2), abs=1e-6)

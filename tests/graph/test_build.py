import itertools
import math

import numpy as np
import pytest
import torch
from graph_jets import jets_from, random_jets
from torch_geometric.data import Batch
from torch_geometric.nn import HypergraphConv

from hypervae.datasets import make_jets
from hypervae.graph import (
    EDGE_FEATURES,
    JetHypergraphs,
    build_hypergraph,
    build_hypergraphs,
    dominance_candidates,
    jet_arrays,
    to_physical,
)
from hypervae.physics import eec, from_padded, to_padded, tuple_values

ALL = {"budget": "all", "eec_bins": 8}


def test_triangle_exact_edges(triangle):
    g = build_hypergraphs(triangle, ALL)[0]
    assert g.edge_index.tolist() == [[0, 0, 1, 1, 2, 2], [1, 2, 0, 2, 0, 1]]
    r12 = math.sqrt(0.02)
    m2 = {
        (0, 1): 2 * 50 * 30 * (math.cosh(0.1) - 1),
        (0, 2): 2 * 50 * 20 * (1 - math.cos(0.1)),
        (1, 2): 2 * 30 * 20 * (math.cosh(0.1) - math.cos(0.1)),
    }
    expected = {
        (0, 1): [0.15, math.log(0.1), math.log(3.0), math.log(30 / 80), math.log(m2[0, 1])],
        (0, 2): [0.10, math.log(0.1), math.log(2.0), math.log(20 / 70), math.log(m2[0, 2])],
        (1, 2): [0.06, math.log(r12), math.log(20 * r12), math.log(20 / 50), math.log(m2[1, 2])],
    }
    assert len(EDGE_FEATURES) == g.edge_attr.shape[1] == 5
    for (i, j), attr in zip(g.edge_index.t().tolist(), g.edge_attr.tolist(), strict=True):
        np.testing.assert_allclose(attr, expected[min(i, j), max(i, j)], rtol=1e-5, atol=1e-6)


def test_triangle_exact_hyperedge_x_and_y(triangle):
    g = build_hypergraphs(triangle, ALL)[0]
    assert g.hyperedge_index.tolist() == [[0, 1, 2], [0, 0, 0]]
    r12 = math.sqrt(0.02)
    half_ln2 = -0.5 * math.log(2)
    np.testing.assert_allclose(
        g.hyperedge_attr[0].tolist(), [0.18, math.log(r12), half_ln2, half_ln2], rtol=1e-6
    )
    # x: canonical frame scaled by the jet pT: sum px = 1, sum py = sum pz = 0, massless
    x = g.x.double()
    np.testing.assert_allclose(x.sum(0)[1:].tolist(), [1.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose((x[:, 0] ** 2 - (x[:, 1:] ** 2).sum(1)).tolist(), 0, atol=1e-6)
    p4, _ = to_padded(triangle)
    jet = p4[0].sum(0)
    pt = math.hypot(jet[1], jet[2])
    np.testing.assert_allclose(g.frame[0, 2].item(), pt, rtol=1e-12)
    mass = math.sqrt(jet[0] ** 2 - (jet[1:] ** 2).sum())
    np.testing.assert_allclose(
        g.y[0].tolist(), [1.0, math.log(pt), triangle.eta[0], math.log(mass)], rtol=1e-5
    )
    assert g.n_particles.tolist() == [3]
    # physical round trip: float32 x, exact up to float error
    np.testing.assert_allclose(to_physical(g), p4[0], rtol=0, atol=1e-5 * pt)


def test_knn_edges_and_single_jet(triangle):
    cfg = {"edges": "knn", "edge_k": 1, "budget": "knn", "k": 2}
    g = build_hypergraph(triangle[0], cfg)
    # nearest neighbour of 0 is 1 (tie with 2, lower index); of 1 and 2 it is 0
    assert g.edge_index.tolist() == [[1, 0, 0], [0, 1, 2]]
    assert torch.equal(g.edge_attr, build_hypergraphs(triangle, cfg)[0].edge_attr)


def test_features_match_physics_module():
    jets = random_jets(5, 12, seed=3)
    graphs = build_hypergraphs(jets, {"budget": "all", "eec_n": (2, 3), "eec_bins": 10})
    p4, mask = to_padded(jets)
    hist = np.concatenate([eec((p4, mask), n=n, bins=10) for n in (2, 3)], axis=1)
    for j, g in enumerate(graphs):
        tuples = g.hyperedge_index[0].view(-1, 3).numpy()
        rl, weight = tuple_values((p4[j : j + 1], mask[j : j + 1]), tuples[None])
        np.testing.assert_allclose(g.hyperedge_attr[:, 0].numpy(), weight[0], rtol=1e-6)
        np.testing.assert_allclose(g.hyperedge_attr[:, 1].numpy(), np.log(rl[0]), atol=1e-5)
        np.testing.assert_allclose(g.eec_hist[0].numpy(), hist[j], rtol=1e-6, atol=1e-9)
        n = int(mask[j].sum())
        assert tuples.tolist() == [list(t) for t in itertools.combinations(range(n), 3)]
        assert g.edge_index.shape[1] == n * (n - 1)


def _lorentz(p4, y, phi):
    c, s = math.cos(phi), math.sin(phi)
    e, px, py, pz = np.moveaxis(p4, -1, 0)
    px, py = c * px - s * py, s * px + c * py
    e, pz = math.cosh(y) * e + math.sinh(y) * pz, math.sinh(y) * e + math.cosh(y) * pz
    return np.stack([e, px, py, pz], -1)


@pytest.mark.parametrize("budget", ["knn", "top_weight"])
def test_invariant_under_boosts_and_rotations(budget):
    jets = random_jets(4, 15, seed=1)
    p4, mask = to_padded(jets)
    p4[..., 0] = np.sqrt(p4[..., 0] ** 2 + 0.14**2) * mask  # massive particles
    cfg = {"budget": budget, "k": 3, "eec_bins": 10}
    base = build_hypergraphs(make_jets(from_padded(p4, mask), jets.jet_type), cfg)
    moved = _lorentz(p4, 1.7, 2.5)
    other = build_hypergraphs(make_jets(from_padded(moved, mask), jets.jet_type), cfg)
    for a, b in zip(base, other, strict=True):
        assert torch.equal(a.edge_index, b.edge_index)
        assert torch.equal(a.hyperedge_index, b.hyperedge_index)
        torch.testing.assert_close(a.edge_attr, b.edge_attr, atol=1e-4, rtol=1e-5)
        torch.testing.assert_close(a.hyperedge_attr, b.hyperedge_attr, atol=1e-4, rtol=1e-5)
        torch.testing.assert_close(a.x, b.x, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(a.eec_hist, b.eec_hist)
        torch.testing.assert_close(a.y[:, [0, 1, 3]], b.y[:, [0, 1, 3]])


def _brute_force(jet_p4, jet_mask, n, k, budget):
    """Per-jet Python reference of the bounded budgets."""
    count = int(jet_mask.sum())
    g = build_hypergraphs(
        make_jets(from_padded(jet_p4[None], jet_mask[None]), 0), {"budget": "all"}
    )[0]
    dr = {}
    for (i, j), attr in zip(g.edge_index.t().tolist(), g.edge_attr.tolist(), strict=True):
        dr[i, j] = math.exp(attr[1])
    w = [math.hypot(*jet_p4[i, 1:3]) for i in range(count)]
    if budget == "knn":
        tuples = set()
        for i in range(count):
            nb = sorted((j for j in range(count) if j != i), key=lambda j: (dr[i, j], j))[:k]
            for rest in itertools.combinations(nb, n - 1):
                tuples.add(tuple(sorted((i, *rest))))
    else:
        tuples = set(itertools.combinations(range(count), n))
    ranked = sorted(tuples, key=lambda t: (-math.prod(w[a] for a in t), t))
    return sorted(ranked[: k * count])


@pytest.mark.parametrize("budget", ["knn", "top_weight"])
@pytest.mark.parametrize("n", [2, 3, 4])
def test_bounded_budgets_match_reference(budget, n):
    jets = random_jets(3, 14, seed=n)
    p4, mask = to_padded(jets)
    k = 3
    graphs = build_hypergraphs(jets, {"budget": budget, "k": k, "n_points": n, "eec_n": ()})
    for j, g in enumerate(graphs):
        got = g.hyperedge_index[0].view(-1, n).tolist()
        assert got == [list(t) for t in _brute_force(p4[j], mask[j], n, k, budget)]
        assert g.hyperedge_index[1].tolist() == np.repeat(np.arange(len(got)), n).tolist()


@pytest.mark.parametrize("budget", ["knn", "top_weight"])
def test_budget_never_exceeded_at_150_particles(budget):
    jets = random_jets(3, 150, seed=7)
    k = 4
    graphs = build_hypergraphs(jets, {"budget": budget, "k": k, "eec_n": (), "edges": "knn"})
    for g in graphs:
        n = g.n_particles.item()
        assert 0 < g.hyperedge_attr.shape[0] <= k * n
        assert g.hyperedge_index.shape[1] == 3 * g.hyperedge_attr.shape[0]
        assert g.edge_index.shape[1] == 16 * n


def test_dominance_candidates_bounded():
    cand = dominance_candidates(150, 3, 1200)
    assert cand.shape[0] < math.comb(150, 3) / 10
    assert np.all(np.diff(cand, axis=1) > 0)
    gaps = (cand[:, 0] + 1) * (cand[:, 1] - cand[:, 0]) * (cand[:, 2] - cand[:, 1])
    assert gaps.max() <= 1200


def test_all_budget_refused_above_limit():
    jets = random_jets(3, 12, seed=2)
    counts = jets.n_particles.tolist()
    limit = min(counts)
    bad = next(j for j, c in enumerate(counts) if c > limit)
    with pytest.raises(ValueError, match=rf"jet {bad} has {counts[bad]} particles: budget='all'"):
        build_hypergraphs(jets, {"budget": "all", "max_all_particles": limit})


def test_batching_shifts_hyperedge_incidences():
    jets = jets_from(
        [[50.0, 30.0, 20.0, 0.0], [40.0, 30.0, 20.0, 10.0]],
        [[0.0, 0.1, 0.0, 0.0], [0.0, 0.1, 0.2, 0.3]],
        [[0.0, 0.0, 0.1, 0.0], [0.0, 0.1, 0.0, 0.1]],
    )
    g1, g2 = build_hypergraphs(jets, ALL)
    batch = Batch.from_data_list([g1, g2])
    assert batch.hyperedge_index.tolist() == [
        [0, 1, 2, 3, 4, 5, 3, 4, 6, 3, 5, 6, 4, 5, 6],
        [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4],
    ]
    assert batch.edge_index.max().item() == 6
    assert batch.y.shape == (2, 4)
    assert batch.eec_hist.shape == (2, 16)
    out = HypergraphConv(4, 8)(batch.x, batch.hyperedge_index)
    assert out.shape == (7, 8)


def test_max_particles_keeps_leading_and_bare_particles_need_type(triangle):
    g = build_hypergraphs(triangle, {"max_particles": 2, "budget": "all", "n_points": 2})[0]
    assert g.n_particles.item() == 2
    assert g.hyperedge_attr[0, 0].item() == pytest.approx(2 * 50 * 30 / 80**2, rel=1e-6)
    with pytest.raises(ValueError, match="pass jet_type"):
        jet_arrays(triangle.particles)
    assert build_hypergraphs(triangle.particles, ALL, jet_type=3)[0].y[0, 0].item() == 3.0


@pytest.mark.parametrize("budget", ["all", "knn", "top_weight"])
def test_small_jets_beside_large_ones(budget):
    jets = jets_from(
        [[10.0, 0, 0, 0, 0], [10.0, 5.0, 0, 0, 0], [10.0, 5.0, 4.0, 3.0, 2.0]],
        [[0.0, 0, 0, 0, 0], [0.0, 0.1, 0, 0, 0], [0.0, 0.1, 0.2, 0.0, 0.1]],
        [[0.0, 0, 0, 0, 0], [0.0, 0.0, 0, 0, 0], [0.0, 0.0, 0.0, 0.2, 0.2]],
    )
    g1, g2, g5 = build_hypergraphs(jets, {"budget": budget, "k": 2})
    assert (g1.edge_index.shape[1], g1.hyperedge_attr.shape[0]) == (0, 0)
    assert (g2.edge_index.shape[1], g2.hyperedge_attr.shape[0]) == (2, 0)
    # k n = 10 = C(5, 3): all triplets, except knn (one per particle and its 2 neighbours)
    if budget == "knn":
        assert 1 <= g5.hyperedge_attr.shape[0] <= 5
    else:
        assert g5.hyperedge_attr.shape[0] == 10
    np.testing.assert_allclose(g1.x[0].tolist(), [1.0, 1.0, 0.0, 0.0], atol=1e-7)


def test_empty_jet_is_refused_with_its_index():
    jets = jets_from([[10.0, 5.0], [0.0, 0.0]], [[0.0, 0.1], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match="jet 1: has no particles"):
        build_hypergraphs(jets, ALL)


def test_lazy_dataset_equals_batch_build():
    jets = random_jets(4, 12, seed=21)
    cfg = {"budget": "top_weight", "k": 2, "eec_bins": 5}
    ds = JetHypergraphs(jets, cfg)
    expected = build_hypergraphs(jets, cfg)
    assert len(ds) == 4
    for j in (0, 2, -1):
        for key in ("x", "edge_attr", "hyperedge_index", "hyperedge_attr", "y", "eec_hist"):
            torch.testing.assert_close(ds[j][key], expected[j][key], rtol=0, atol=0)
    with pytest.raises(IndexError, match="index 4 out of range for 4 jets"):
        ds[4]

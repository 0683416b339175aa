"""EFPs against a brute-force sum over particle assignments, and their symmetries."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hypervae.evaluation.efp import (
    FPD_GRAPHS,
    W1EFP_GRAPHS,
    connected_graphs,
    efp_graphs,
    efps,
    graph_components,
)
from hypervae.evaluation.metrics import jetnet_features
from hypervae.physics import from_padded
from tests.conftest import boost_z, random_padded, rotate_z


def brute_force_efp(features, mask, graph, beta=1.0):
    """sum_{i_1..i_n} prod z_{i_k} prod_{(k,l)} theta_{i_k i_l}^beta, with Python loops."""
    n = 1 + max((b for _, b in graph), default=0)
    out = []
    for x, m in zip(features, mask, strict=True):
        parts = [p for p, keep in zip(x, m, strict=True) if keep]
        total = 0.0
        for assign in itertools.product(range(len(parts)), repeat=n):
            term = 1.0
            for v in assign:
                term *= parts[v][2]
            for a, b in graph:
                pa, pb = parts[assign[a]], parts[assign[b]]
                dphi = abs(pa[1] - pb[1])
                dphi = min(dphi, 2 * np.pi - dphi)
                term *= ((pa[0] - pb[0]) ** 2 + dphi**2) ** (beta / 2)
            total += term
        out.append(total)
    return np.array(out)


def tiny_jets(rng, n_jets=3, n_max=4):
    counts = rng.integers(2, n_max + 1, size=n_jets)
    mask = np.arange(n_max)[None, :] < counts[:, None]
    x = np.stack(
        [
            rng.normal(0, 0.3, (n_jets, n_max)),
            rng.normal(0, 0.3, (n_jets, n_max)),
            rng.dirichlet(np.ones(n_max), n_jets),
        ],
        axis=-1,
    )
    return np.where(mask[..., None], x, 0.0), mask


def test_graph_counts():
    # connected loopless multigraphs by number of edges (OEIS A076864: 1, 1, 2, 5, 12)
    assert [len(connected_graphs(d)) for d in range(5)] == [1, 1, 2, 5, 12]
    # all multigraphs without isolated vertices, d <= 4: 1 + 1 + 3 + 8 + 23 = 36
    assert len(FPD_GRAPHS) == 36
    assert len(set(FPD_GRAPHS)) == 36
    n_disconnected = sum(len(graph_components(g)) > 1 for g in FPD_GRAPHS)
    assert n_disconnected == 15
    by_degree = [sum(len(g) == d for g in FPD_GRAPHS) for d in range(5)]
    assert by_degree == [1, 1, 3, 8, 23]
    assert len(efp_graphs(2)) == 5


def test_w1efp_graphs_are_the_five_n4_d4_prime_graphs():
    assert len(W1EFP_GRAPHS) == 5
    for g in W1EFP_GRAPHS:
        assert len(g) == 4
        assert {v for e in g for v in e} == {0, 1, 2, 3}
        assert len(graph_components(g)) == 1
    # the 4-cycle and the triangle with a pendant edge are among them
    assert ((0, 1), (0, 2), (1, 3), (2, 3)) in W1EFP_GRAPHS
    assert ((0, 1), (0, 2), (0, 3), (1, 2)) in W1EFP_GRAPHS


def test_matches_brute_force_for_all_36_graphs(rng):
    x, mask = tiny_jets(rng)
    fast = efps(x, mask, FPD_GRAPHS)
    for k, graph in enumerate(FPD_GRAPHS):
        np.testing.assert_allclose(fast[:, k], brute_force_efp(x, mask, graph), rtol=1e-10)


def test_beta_and_normed(rng):
    x, mask = tiny_jets(rng)
    x[..., 2] *= 3.0  # pt_rel no longer sums to 1
    graph = ((0, 1), (0, 1), (1, 2))
    np.testing.assert_allclose(
        efps(x, mask, [graph], beta=2.0)[:, 0], brute_force_efp(x, mask, graph, 2.0), rtol=1e-10
    )
    total = (x[..., 2] * mask).sum(axis=1)
    np.testing.assert_allclose(
        efps(x, mask, [graph], normed=True)[:, 0], efps(x, mask, [graph])[:, 0] / total**3
    )


def test_padding_and_permutation_invariance(rng):
    x, mask = tiny_jets(rng, n_jets=4, n_max=5)
    ref = efps(x, mask)
    perm = rng.permutation(5)
    np.testing.assert_allclose(efps(x[:, perm], mask[:, perm]), ref, rtol=1e-12)
    padded = np.concatenate([x, np.zeros((4, 3, 3))], axis=1)
    np.testing.assert_allclose(efps(padded, None), ref, rtol=1e-12)  # zero pt drops out
    np.testing.assert_allclose(efps(x, mask, chunk_size=1), ref, rtol=1e-12)


def test_invariances_of_relative_coordinates(rng):
    """EFPs depend on eta, phi differences only: shifts in eta, phi (across the
    wrap) leave them unchanged; pT scale s multiplies an n-vertex EFP by s**n."""
    x, mask = tiny_jets(rng)
    ref = efps(x, mask)
    shifted = x + np.array([0.7, 0.0, 0.0])
    shifted[..., 1] = np.angle(np.exp(1j * (x[..., 1] + 3.0)))  # rotate phi across +-pi
    np.testing.assert_allclose(efps(shifted, mask), ref, rtol=1e-9)
    n_vertices = np.array([1 + max((b for _, b in g), default=0) for g in FPD_GRAPHS])
    np.testing.assert_allclose(efps(x * [1, 1, 2.0], mask), ref * 2.0**n_vertices, rtol=1e-10)
    np.testing.assert_allclose(efps(x * [1, 1, 2.0], mask, normed=True), efps(x, mask, normed=True))


def test_physical_jets_are_invariant_under_boosts_rotations_and_scale(rng):
    p4, mask = random_padded(rng, n_jets=5, n_max=6, massive=False)
    ref = efps(*jetnet_features(from_padded(p4, mask)))
    moved = 3.0 * rotate_z(boost_z(p4, 0.8), 1.1)
    np.testing.assert_allclose(efps(*jetnet_features(from_padded(moved, mask))), ref, rtol=1e-7)


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"shape \[N, P, 3\]"):
        efps(np.zeros((2, 3)))
    x = np.ones((2, 2, 3))
    x[1, :, 2] = 0.0
    with pytest.raises(ValueError, match="jet 1 has no particle with positive pt_rel"):
        efps(x, normed=True)
    with pytest.raises(ValueError, match="degree must be >= 0"):
        connected_graphs(-1)

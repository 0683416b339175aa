from __future__ import annotations

import itertools
import math
import tracemalloc

import awkward as ak
import numpy as np
import pytest
import torch

from hypervae import physics as P
from tests.conftest import boost_z, random_padded, rotate_z


def slow_eec(p4, mask, n, edges, jet_pt=None):
    """Reference: loop over every ordered N-tuple, repeated indices included.

    Only the contact terms (all N indices equal) are left out; R_L is clamped below at
    1e-8. Weights are pT / sum pT, or pT / jet_pt[j] when given.
    """
    out = np.zeros((len(p4), len(edges) - 1))
    for j in range(len(p4)):
        parts = [p for p, m in zip(p4[j], mask[j], strict=True) if m]
        y = [0.5 * math.log((p[0] + p[3]) / (p[0] - p[3])) for p in parts]
        phi = [math.atan2(p[2], p[1]) for p in parts]
        pt = [math.hypot(p[1], p[2]) for p in parts]
        w = [v / (sum(pt) if jet_pt is None else jet_pt[j]) for v in pt]

        def dr(a, b):
            d = (phi[a] - phi[b] + math.pi) % (2 * math.pi) - math.pi
            return math.hypot(y[a] - y[b], d)

        for tup in itertools.product(range(len(parts)), repeat=n):
            if len(set(tup)) == 1:  # the contact term i = j (= k ...), by index
                continue
            rl = max(1e-8, *(dr(a, b) for a, b in itertools.combinations(tup, 2)))
            k = np.searchsorted(edges, rl, side="right") - 1
            if 0 <= k < len(edges) - 1:
                out[j, k] += math.prod(w[i] for i in tup)
    return out


def collinear_jets():
    """Jet 0: pT 100 and 50 GeV in exactly the same direction, 30 GeV at Delta R 0.3
    (the issue's jet: w = 5/9, 5/18, 1/6); jet 1: three random particles."""
    pt = [[100.0, 50.0, 30.0], [40.0, 25.0, 10.0]]
    eta = [[0.7, 0.7, 1.0], [0.1, -0.2, 0.3]]
    phi = [[0.2, 0.2, 0.2], [1.0, 1.2, 0.8]]
    return P.ptetaphim_to_cartesian(pt, eta, phi), np.ones((2, 3), bool)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_collinear_distinct_particles_contribute(n):
    """Regression (issue 14): only i = j is dropped, not distinct particles at R_L = 0."""
    p4, mask = collinear_jets()
    edges = P.bin_edges(24, (1e-9, 10.0))
    hist = P.eec((p4, mask), n=n, bins=24, rl_range=(1e-9, 10.0))
    np.testing.assert_allclose(hist, slow_eec(p4, mask, n, edges), rtol=1e-10, atol=1e-15)
    w = np.array([[100.0, 50.0, 30.0], [40.0, 25.0, 10.0]])
    w /= w.sum(1, keepdims=True)
    # sum rule: everything but the contact term sum_i w_i^N
    np.testing.assert_allclose(hist.sum(1), 1 - (w**n).sum(1), rtol=1e-12)
    # the collinear pair sits in the bin of R_L = 1e-8
    first = int(np.searchsorted(edges, 1e-8, side="right")) - 1
    pair = sum(math.comb(n, m) * w[0, 0] ** m * w[0, 1] ** (n - m) for m in range(1, n))
    assert hist[0, first] == pytest.approx(pair, rel=1e-12)
    if n == 2:
        assert hist[0].sum() == pytest.approx(47.5 / 81)  # 0.586; dropping the pair: 0.278
    # the default range (from 1e-4) leaves R_L = 1e-8 out, like any weight outside it
    assert P.eec((p4, mask), n=n)[0].sum() == pytest.approx(hist[0].sum() - pair, rel=1e-12)


def test_eec_values_numpy_and_torch_agree_with_finite_gradients():
    p4, mask = collinear_jets()
    rl, weight = P.eec_values(p4, mask, n=3)
    x = torch.from_numpy(p4).requires_grad_(True)
    trl, tweight = P.eec_values(x, torch.from_numpy(mask), n=3)
    np.testing.assert_allclose(trl.detach().numpy(), rl, rtol=1e-12)
    np.testing.assert_allclose(tweight.detach().numpy(), weight, rtol=1e-12)
    assert rl[0, 0] == P.RL_FLOOR  # the collinear pair (0, 1)
    (torch.log(trl) * tweight).sum().backward()
    assert torch.isfinite(x.grad).all()
    assert x.grad.abs().sum() > 0


def test_weights_jet(padded):
    p4, mask = padded
    parts = P.from_padded(p4, mask)
    scalar_sum = np.where(mask, np.hypot(p4[..., 1], p4[..., 2]), 0).sum(1)
    jet_pt = 1.25 * scalar_sum + 3.0  # the stored particles are a subset of the jet
    jets = ak.zip({"particles": parts, "pt": jet_pt}, depth_limit=1)
    edges = P.bin_edges(16, (1e-9, 10.0))
    w = np.where(mask, np.hypot(p4[..., 1], p4[..., 2]), 0) / jet_pt[:, None]
    for n in (2, 3):
        got = P.eec(jets, n=n, bins=16, rl_range=(1e-9, 10.0), weights="jet")
        np.testing.assert_allclose(got, slow_eec(p4, mask, n, edges, jet_pt), rtol=1e-10)
        # N-point weights are homogeneous of degree N in 1 / pT_ref
        ref = P.eec(jets, n=n, bins=16, rl_range=(1e-9, 10.0))
        np.testing.assert_allclose(got, ref * ((scalar_sum / jet_pt) ** n)[:, None], rtol=1e-12)
        np.testing.assert_allclose(got.sum(1), w.sum(1) ** n - (w**n).sum(1), rtol=1e-12)
    # without a jet-level pt: the pT of the particles' 4-momentum sum
    vector_sum = np.hypot(*(np.where(mask, p4[..., k], 0).sum(1) for k in (1, 2)))
    np.testing.assert_allclose(
        P.eec((p4, mask), n=2, weights="jet"),
        P.eec((p4, mask), n=2) * ((scalar_sum / vector_sum) ** 2)[:, None],
        rtol=1e-12,
    )
    _, wt = P.tuple_values(jets, [[[0, 1]]] * len(p4), weights="jet")
    np.testing.assert_allclose(wt[:, 0], 2 * w[:, 0] * w[:, 1], rtol=1e-12)
    with pytest.raises(ValueError, match="weights must be 'particles' or 'jet', got 'pt'"):
        P.eec(jets, weights="pt")
    zero = ak.zip(
        {"particles": parts, "pt": np.where(np.arange(len(p4)) == 2, 0.0, jet_pt)}, depth_limit=1
    )
    with pytest.raises(ValueError, match=r"weights='jet': jet 2 has pT 0\.0;"):
        P.eec(zero, weights="jet")


def test_hand_two_particles():
    p4 = P.ptetaphim_to_cartesian([[1.0, 3.0]], [[0.0, 0.1]], [[0.0, 0.0]])
    mask = np.ones((1, 2), bool)
    w1, w2 = 0.25, 0.75
    edges = [0.05, 0.2, 1.0]
    np.testing.assert_allclose(P.eec((p4, mask), n=2, bins=edges), [[2 * w1 * w2, 0.0]])
    np.testing.assert_allclose(P.eec((p4, mask), n=3, bins=edges), [[3 * w1 * w2 * (w1 + w2), 0]])
    n4 = 4 * w1**3 * w2 + 4 * w1 * w2**3 + 6 * w1**2 * w2**2
    np.testing.assert_allclose(P.eec((p4, mask), n=4, bins=edges), [[n4, 0]])


def test_hand_three_particles():
    # dR(0,1) = 0.1, dR(0,2) = 0.3, dR(1,2) = sqrt(0.1^2 + 0.3^2)
    p4 = P.ptetaphim_to_cartesian([[1.0, 1.0, 2.0]], [[0.0, 0.1, 0.0]], [[0.0, 0.0, 0.3]])
    mask = np.ones((1, 3), bool)
    w = [0.25, 0.25, 0.5]
    edges = [0.05, 0.15, 0.31, 0.5]
    pair = lambda a, b: 3 * w[a] * w[b] * (w[a] + w[b])
    expected = [[pair(0, 1), pair(0, 2), pair(1, 2) + 6 * w[0] * w[1] * w[2]]]
    np.testing.assert_allclose(P.eec((p4, mask), n=3, bins=edges), expected, rtol=1e-12)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_matches_slow_loop(n):
    p4, mask = random_padded(np.random.default_rng(n), n_jets=4, n_max=6 if n < 4 else 5)
    edges = P.bin_edges(12, (1e-3, 3.0))
    np.testing.assert_allclose(
        P.eec((p4, mask), n=n, bins=12, rl_range=(1e-3, 3.0)),
        slow_eec(p4, mask, n, edges),
        rtol=1e-10,
        atol=1e-14,
    )
    # explicit edges take the searchsorted path and agree
    np.testing.assert_allclose(
        P.eec((p4, mask), n=n, bins=edges), slow_eec(p4, mask, n, edges), rtol=1e-10, atol=1e-14
    )


@pytest.mark.parametrize("n", [2, 3, 4])
def test_normalisation(padded, n):
    p4, mask = padded
    hist = P.eec((p4, mask), n=n, rl_range=(1e-9, 1e3))
    pt = np.where(mask, np.hypot(p4[..., 1], p4[..., 2]), 0)
    w = pt / pt.sum(1, keepdims=True)
    # everything but the fully collinear contact term sum(w^N)
    np.testing.assert_allclose(hist.sum(1) + (w**n).sum(1), 1.0, rtol=1e-12)
    dens = P.eec((p4, mask), n=n, rl_range=(1e-9, 1e3), density=True)
    widths = np.diff(np.log(P.bin_edges(40, (1e-9, 1e3))))
    np.testing.assert_allclose((dens * widths).sum(1), hist.sum(1), rtol=1e-12)


def test_invariant_under_boosts_and_rotations(padded, rng):
    p4, mask = padded
    moved = rotate_z(boost_z(p4, rng.normal(0, 2)), rng.uniform(-np.pi, np.pi))
    for n in (2, 3):
        np.testing.assert_allclose(
            P.eec((moved, mask), n=n), P.eec((p4, mask), n=n), rtol=1e-9, atol=1e-14
        )


def test_permutation_invariant_and_awkward_input(padded, particles, rng):
    p4, mask = padded
    perm = rng.permutation(p4.shape[1])
    ref = P.eec((p4, mask), n=3)
    np.testing.assert_allclose(P.eec((p4[:, perm], mask[:, perm]), n=3), ref, rtol=1e-12)
    np.testing.assert_allclose(P.eec(particles, n=3), ref, rtol=1e-10)


def test_chunking_does_not_change_result(rng):
    p4, mask = random_padded(rng, n_jets=7, n_max=20)
    ref = P.eec((p4, mask), n=3, max_tuples=2**30)
    np.testing.assert_allclose(P.eec((p4, mask), n=3, max_tuples=500), ref, rtol=1e-12)


def test_150_particles_bounded_memory(rng):
    p4, mask = random_padded(rng, n_jets=4, n_max=150)
    mask[:] = True
    p4 = np.where(mask[..., None], p4, P.ptetaphim_to_cartesian(1.0, 0.0, 0.0))

    def peak(max_tuples):
        tracemalloc.start()
        hist = P.eec((p4, mask), n=3, max_tuples=max_tuples)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return hist, top

    small, peak_small = peak(2**16)
    big, peak_big = peak(2**24)
    np.testing.assert_allclose(small, big, rtol=1e-12)
    assert peak_small < 48e6
    assert peak_small < peak_big / 3


def test_n4_refuses_large_jets(rng):
    p4, mask = random_padded(rng, n_jets=3, n_max=51)
    mask[0, :] = False
    mask[0, :10] = True
    mask[2] = True
    with pytest.raises(ValueError, match=r"jet 2 has 51 particles"):
        P.eec((p4, mask), n=4)
    with pytest.raises(ValueError, match="n must be"):
        P.eec((p4, mask), n=5)


def test_combinations_match_itertools():
    for size, k in [(5, 2), (7, 3), (6, 4), (3, 3)]:
        assert P.combinations(size, k).tolist() == [
            list(c) for c in itertools.combinations(range(size), k)
        ]


def test_tuple_values(padded):
    p4, mask = padded
    n_tuples = 4
    tuples = np.full((len(p4), n_tuples, 3), -1)
    rng = np.random.default_rng(0)
    for j in range(len(p4)):
        for t in range(n_tuples - 1):
            tuples[j, t] = rng.choice(int(mask[j].sum()), size=3, replace=False)
    rl, weight = P.tuple_values((p4, mask), tuples)
    feats, _ = P.pairwise_features(p4, mask)
    dr = np.exp(feats[..., 0])
    for j in range(len(p4)):
        pt = np.hypot(p4[j, :, 1], p4[j, :, 2]) * mask[j]
        w = pt / pt.sum()
        for t in range(n_tuples - 1):
            a, b, c = tuples[j, t]
            assert rl[j, t] == pytest.approx(max(dr[j, a, b], dr[j, a, c], dr[j, b, c]), rel=1e-9)
            assert weight[j, t] == pytest.approx(6 * w[a] * w[b] * w[c], rel=1e-12)
        assert rl[j, -1] == 0
        assert weight[j, -1] == 0
    single_rl, _ = P.tuple_values((p4[:1], mask[:1]), tuples[0, :2])
    np.testing.assert_allclose(single_rl, rl[0, :2])
    _, plain = P.tuple_values((p4, mask), tuples, symmetry_factor=False)
    np.testing.assert_allclose(plain * 6, weight)


def test_tuple_values_errors(padded):
    p4, mask = padded
    n1 = int(mask[1].sum())
    tuples = np.zeros((len(p4), 1, 2), dtype=int)
    tuples[1, 0] = [0, n1]
    with pytest.raises(IndexError, match=f"jet 1: tuple 0 .* past its {n1} particles"):
        P.tuple_values((p4, mask), tuples)
    with pytest.raises(ValueError, match="shape"):
        P.tuple_values((p4, mask), np.zeros((2, 1, 2), dtype=int))


def test_bin_edges_validation():
    with pytest.raises(ValueError, match="rl_range"):
        P.bin_edges(10, (0.0, 1.0))
    with pytest.raises(ValueError, match="increasing positive"):
        P.bin_edges([0.1, 0.05])
    assert ak.Array  # awkward imported for type checkers

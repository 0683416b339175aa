"""Jet observables against slow reference loops on tiny hand-built jets."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from hypervae.evaluation.observables import diversity, girth, pairwise_emd, rank_pt_shares
from hypervae.physics import from_padded, ptetaphim_to_cartesian


def _jets(pt, eta, phi):
    """Awkward particles from per-jet lists of (pt, eta, phi) of varying length."""
    size = max(len(p) for p in pt)
    mask = np.array([[k < len(p) for k in range(size)] for p in pt])

    def pad(rows):
        return np.array([list(r) + [0.0] * (size - len(r)) for r in rows])

    p4 = ptetaphim_to_cartesian(np.where(mask, pad(pt), 1.0), pad(eta), pad(phi))
    return from_padded(p4, mask)


def _random(seed, n_jets=6, max_particles=7):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, max_particles + 1, n_jets)
    pt = [list(rng.exponential(50.0, k) + 1.0) for k in sizes]
    eta = [list(0.7 + rng.normal(0, 0.2, k)) for k in sizes]
    phi = [list(-2.0 + rng.normal(0, 0.2, k)) for k in sizes]
    return pt, eta, phi


def _axis(pt, eta, phi):
    """(eta, phi) of the 4-momentum sum of massless particles, in plain Python."""
    px = sum(p * math.cos(f) for p, f in zip(pt, phi, strict=True))
    py = sum(p * math.sin(f) for p, f in zip(pt, phi, strict=True))
    pz = sum(p * math.sinh(e) for p, e in zip(pt, eta, strict=True))
    return math.asinh(pz / math.hypot(px, py)), math.atan2(py, px)


def _relative(pt, eta, phi):
    """Per particle (eta_rel, phi_rel, pT fraction) for one jet."""
    axis_eta, axis_phi = _axis(pt, eta, phi)
    total = sum(pt)
    out = []
    for p, e, f in zip(pt, eta, phi, strict=True):
        dphi = (f - axis_phi + math.pi) % (2 * math.pi) - math.pi
        out.append((e - axis_eta, dphi, p / total))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rank_shares_and_girth_match_reference_loops(seed):
    pt, eta, phi = _random(seed)
    ranks = (1, 2, 5, 7, 9)
    shares, g = rank_pt_shares(_jets(pt, eta, phi), ranks), girth(_jets(pt, eta, phi))
    for j in range(len(pt)):
        rel = _relative(pt[j], eta[j], phi[j])
        ordered = sorted((w for _, _, w in rel), reverse=True)
        expected = [ordered[k - 1] if k <= len(ordered) else 0.0 for k in ranks]
        np.testing.assert_allclose(shares[j], expected, rtol=1e-9, atol=1e-12)
        ref = sum(w * math.hypot(de, df) for de, df, w in rel)
        assert g[j] == pytest.approx(ref, rel=1e-9)


def _emd_by_permutation(a, b):
    """EMD of two jets with n equal-pT particles: the best matching (Birkhoff)."""
    return min(
        sum(math.hypot(a[i][0] - b[k][0], a[i][1] - b[k][1]) for i, k in enumerate(perm)) / len(a)
        for perm in itertools.permutations(range(len(b)))
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_emd_of_equal_pt_jets_is_the_best_matching(seed):
    rng = np.random.default_rng(seed)
    n = 4
    pt = [[10.0] * n for _ in range(3)]
    eta = [list(rng.normal(0, 0.2, n)) for _ in range(3)]
    phi = [list(rng.normal(0, 0.2, n)) for _ in range(3)]
    d = pairwise_emd(_jets(pt, eta, phi))
    rel = [_relative(pt[j], eta[j], phi[j]) for j in range(3)]
    for i, k in itertools.combinations(range(3), 2):
        assert d[i, k] == pytest.approx(_emd_by_permutation(rel[i], rel[k]), rel=1e-9)
        assert d[k, i] == d[i, k]
    assert np.all(np.diag(d) == 0)
    div = diversity(_jets(pt, eta, phi), n_jets=3)
    assert div == pytest.approx((d[0, 1] + d[0, 2] + d[1, 2]) / 3, rel=1e-12)


def test_emd_to_a_one_particle_jet_is_the_pt_weighted_distance():
    pt, eta, phi = _random(3, n_jets=2)
    single = _jets([[5.0]], [[0.3]], [[1.0]])  # its own axis: the particle sits at 0
    d = pairwise_emd(_jets(pt, eta, phi), single)
    assert d.shape == (2, 1)
    for j in range(2):
        rel = _relative(pt[j], eta[j], phi[j])
        assert d[j, 0] == pytest.approx(sum(w * math.hypot(e, f) for e, f, w in rel), rel=1e-9)


def test_observables_are_invariant_under_rotations_about_the_beam():
    pt, eta, phi = _random(4)
    moved = (pt, eta, [[f + 2.9 for f in row] for row in phi])  # crosses phi = pi
    a, b = _jets(pt, eta, phi), _jets(*moved)
    np.testing.assert_allclose(girth(a), girth(b), rtol=1e-9)
    np.testing.assert_allclose(rank_pt_shares(a), rank_pt_shares(b), rtol=1e-9)
    np.testing.assert_allclose(pairwise_emd(a), pairwise_emd(b), rtol=1e-7, atol=1e-12)


def test_diversity_is_zero_for_copies_and_subsamples_reproducibly():
    pt, eta, phi = _random(5, n_jets=1)
    copies = _jets(pt * 5, eta * 5, phi * 5)
    assert diversity(copies) == pytest.approx(0.0, abs=1e-12)
    many = _jets(*_random(6, n_jets=30))
    assert diversity(many, n_jets=10, seed=3) == diversity(many, n_jets=10, seed=3)
    assert diversity(many, n_jets=10, seed=3) != diversity(many, n_jets=10, seed=4)


def test_bad_arguments_are_named():
    jets = _jets(*_random(7))
    with pytest.raises(ValueError, match="ranks must be >= 1"):
        rank_pt_shares(jets, ranks=(0, 1))
    with pytest.raises(ValueError, match="n_jets >= 2"):
        diversity(jets, n_jets=1)
    with pytest.raises(ValueError, match="at least 2 jets"):
        diversity(jets[:1])

"""Property-based tests of the featurisation on random jets, degenerate ones included."""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hypervae import physics as P
from tests.conftest import boost_z, rotate_z

SETTINGS = settings(max_examples=40, deadline=None)
LN_EPS = math.log(P.EPS)
EDGES = P.bin_edges(12, (3e-4, 1.9))  # odd edges: hypothesis' round numbers avoid them
DEGENERACIES = ("none", "collinear", "identical", "zero_pt", "zero_pt_massive")

finite = {"allow_nan": False, "allow_infinity": False}


@st.composite
def jets(draw, max_jets=3, max_particles=6):
    """Padded ``(p4, mask, kinds)``: random jets, each with one kind of degeneracy.

    ``kinds[j]`` is ``(kind, a, b)``: particle ``b`` of jet ``j`` is collinear with
    (massless, same direction as) ``a``, identical to ``a``, or has zero pT, or ``None``.
    Every jet keeps at least one particle with positive pT.
    """
    n_jets = draw(st.integers(1, max_jets))
    size = draw(st.integers(1, max_particles))
    counts = [size] + [draw(st.integers(1, size)) for _ in range(n_jets - 1)]
    shape = (n_jets, size)

    def grid(elements, per_jet=False):
        n = n_jets if per_jet else n_jets * size
        values = draw(st.lists(elements, min_size=n, max_size=n))
        return np.reshape(values, (n_jets, 1) if per_jet else shape)

    # particles within 0.8 of a jet axis anywhere in (eta, phi), so the jet pT is positive
    pt = grid(st.floats(0.5, 500.0, **finite))
    eta = grid(st.floats(-2.0, 2.0, **finite), per_jet=True) + grid(st.floats(-0.8, 0.8, **finite))
    phi = P.wrap_phi(
        grid(st.floats(-math.pi, math.pi, **finite), per_jet=True)
        + grid(st.floats(-0.8, 0.8, **finite))
    )
    mass = grid(st.sampled_from([0.0, 0.13957, 0.93827, 5.0]))
    kinds = []
    for j, n in enumerate(counts):
        kind = draw(st.sampled_from(DEGENERACIES)) if n >= 2 else "none"
        if kind == "none":
            kinds.append(None)
            continue
        a = draw(st.integers(0, n - 1))
        b = draw(st.integers(0, n - 2))
        b += b >= a  # b != a
        if kind == "collinear":
            eta[j, b], phi[j, b], mass[j, a], mass[j, b] = eta[j, a], phi[j, a], 0.0, 0.0
        elif kind == "identical":
            pt[j, b], eta[j, b], phi[j, b], mass[j, b] = pt[j, a], eta[j, a], phi[j, a], mass[j, a]
        else:
            pt[j, b] = 0.0
            mass[j, b] = 0.0 if kind == "zero_pt" else mass[j, b] or 1.0
        kinds.append((kind, a, b))
    mask = np.arange(size)[None, :] < np.array(counts)[:, None]
    p4 = np.where(mask[..., None], P.ptetaphim_to_cartesian(pt, eta, phi, mass), 0.0)
    return p4, mask, kinds


@st.composite
def jets_and_permutation(draw):
    p4, mask, kinds = draw(jets())
    perm = np.array(draw(st.permutations(range(p4.shape[1]))))
    return p4, mask, kinds, perm


lorentz = st.tuples(st.floats(-2.0, 2.0, **finite), st.floats(-math.pi, math.pi, **finite))


# ------------------------------------------------------------------------- pairwise
@SETTINGS
@given(jets())
def test_pairwise_features_are_finite_with_clamped_coincident_pairs(batch):
    p4, mask, kinds = batch
    feats, w2 = P.pairwise_features(p4, mask)
    assert np.all(np.isfinite(feats))
    assert np.all(np.isfinite(w2))
    assert np.all(w2 >= 0)
    pair = mask[:, :, None] & mask[:, None, :]
    assert np.all(feats[~pair] == 0)
    assert np.all(w2[~pair] == 0)
    np.testing.assert_allclose(w2.sum(axis=(1, 2)), 1.0, rtol=1e-12)  # (sum w)^2
    size = p4.shape[1]
    diag = feats[:, np.arange(size), np.arange(size)][mask]
    # ΔR = 0 on the diagonal: ln ΔR and ln kT sit at the documented clamp ln(1e-8)
    assert np.all(diag[:, 0] == LN_EPS)
    assert np.all(diag[:, 1] == LN_EPS)
    # every argument is clamped below at eps before the log
    assert np.all(feats[pair] >= LN_EPS)
    for j, kind in enumerate(kinds):
        if kind is None:
            continue
        name, a, b = kind
        f = feats[j, a, b]
        np.testing.assert_allclose(f, feats[j, b, a], rtol=1e-12, atol=1e-12)  # symmetric
        if name in ("collinear", "identical"):
            assert f[0] == LN_EPS  # coincident directions: ΔR clamped, not NaN or -inf
            assert f[1] == LN_EPS
            e = p4[j, a, 0] + p4[j, b, 0]
            assert math.exp(f[3]) <= max(P.EPS, 1e-12 * e**2) or name == "identical"
        if name == "identical":
            assert f[2] == math.log(0.5)
        if name.startswith("zero_pt"):
            assert f[1] == LN_EPS  # kT = 0
            assert f[2] == LN_EPS  # z = 0
            assert w2[j, a, b] == 0


@SETTINGS
@given(jets_and_permutation())
def test_pairwise_features_are_permutation_covariant(batch):
    p4, mask, _, perm = batch
    feats, w2 = P.pairwise_features(p4, mask)
    feats_p, w2_p = P.pairwise_features(p4[:, perm], mask[:, perm])
    np.testing.assert_array_equal(feats_p, feats[:, perm][:, :, perm])
    np.testing.assert_allclose(w2_p, w2[:, perm][:, :, perm], rtol=1e-12, atol=0)


@SETTINGS
@given(jets(max_jets=2))
def test_awkward_pairwise_lists_each_unordered_pair_once(batch):
    p4, mask, _ = batch
    parts = P.from_padded(p4, mask)
    pairs = P.pairwise(parts)
    feats, w2 = P.pairwise_features(*P.to_padded(parts))
    for j in range(len(p4)):
        n = int(mask[j].sum())
        i, k = pairs.i[j].to_numpy(), pairs.j[j].to_numpy()
        assert list(zip(i.tolist(), k.tolist(), strict=True)) == list(
            itertools.combinations(range(n), 2)
        )
        np.testing.assert_array_equal(pairs.w2[j].to_numpy(), w2[j, i, k])
        for f, name in enumerate(P.FEATURES):
            np.testing.assert_array_equal(pairs[name][j].to_numpy(), feats[j, i, k, f])


# ------------------------------------------------------------------------------ EEC
@SETTINGS
@given(jets_and_permutation(), st.sampled_from([2, 3]))
def test_eec_is_non_negative_bounded_and_permutation_invariant(batch, n):
    p4, mask, _, perm = batch
    hist = P.eec((p4, mask), n=n, bins=EDGES)
    assert hist.shape == (len(p4), len(EDGES) - 1)
    assert np.all(hist >= 0)
    # the weights of all ordered tuples add up to (sum w)^N = 1; contact terms are dropped
    assert np.all(hist.sum(axis=1) <= 1 + 1e-12)
    np.testing.assert_allclose(P.eec((p4[:, perm], mask[:, perm]), n=n, bins=EDGES), hist,
                               rtol=1e-12, atol=1e-15)  # fmt: skip


@SETTINGS
@given(jets(), st.sampled_from([2, 3]), lorentz)
def test_eec_is_invariant_under_longitudinal_boost_and_rotation(batch, n, transform):
    p4, mask, _ = batch
    rapidity, angle = transform
    moved = rotate_z(boost_z(p4, rapidity), angle)
    np.testing.assert_allclose(
        P.eec((moved, mask), n=n, bins=EDGES), P.eec((p4, mask), n=n, bins=EDGES), rtol=1e-9,
        atol=1e-12,
    )  # fmt: skip
    # the per-tuple R_L, a continuous quantity, agrees to rounding
    size = p4.shape[1]
    if size >= 2:
        tuples = np.broadcast_to(P.combinations(size, 2), (len(p4), math.comb(size, 2), 2))
        valid = np.all(mask[:, tuples[0]], axis=-1)
        tuples = np.where(valid[..., None], tuples, -1)
        rl, w = P.tuple_values((p4, mask), tuples)
        rl2, w2 = P.tuple_values((moved, mask), tuples)
        weighted = w > 0  # zero-pT particles have no defined azimuth and no weight
        np.testing.assert_allclose(rl2[weighted], rl[weighted], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(w2, w, rtol=1e-9, atol=1e-15)


# ------------------------------------------------------------------------ jet frame
@SETTINGS
@given(jets(), st.sampled_from(["pt", "energy", 250.0]))
def test_jet_frame_round_trip_is_exact(batch, scale):
    p4, mask, _ = batch
    frame_p4, frame = P.to_jet_frame(p4, mask, scale=scale)
    back = P.from_jet_frame(frame_p4, mask, frame)
    np.testing.assert_allclose(back, p4, rtol=1e-12, atol=1e-11 * np.abs(p4).max())
    assert np.all(back[~mask] == 0)
    assert np.all(frame_p4[~mask] == 0)
    jet = frame_p4.sum(axis=1)
    np.testing.assert_allclose(jet[:, 2:], 0.0, atol=1e-10 * np.abs(jet).max())  # py = pz = 0
    assert np.all(jet[:, 1] > 0)
    if scale == "pt":
        np.testing.assert_allclose(jet[:, 1], 1.0, rtol=1e-12)


@SETTINGS
@given(jets(), lorentz)
def test_jet_frame_is_canonical(batch, transform):
    """Boosting and rotating the input jet does not change its canonical frame."""
    p4, mask, _ = batch
    rapidity, angle = transform
    frame_p4, _ = P.to_jet_frame(p4, mask)
    moved_p4, _ = P.to_jet_frame(rotate_z(boost_z(p4, rapidity), angle), mask)
    np.testing.assert_allclose(moved_p4, frame_p4, rtol=1e-9, atol=1e-9 * np.abs(frame_p4).max())


@SETTINGS
@given(jets(), st.integers(0, 2**32 - 1))
def test_padding_content_is_ignored(batch, seed):
    p4, mask, _ = batch
    garbage = np.random.default_rng(seed).normal(0, 100, p4.shape)
    dirty = np.where(mask[..., None], p4, garbage)
    feats, w2 = P.pairwise_features(p4, mask)
    feats_d, w2_d = P.pairwise_features(dirty, mask)
    np.testing.assert_array_equal(feats_d, feats)
    np.testing.assert_array_equal(w2_d, w2)
    np.testing.assert_array_equal(
        P.eec((dirty, mask), n=3, bins=EDGES), P.eec((p4, mask), n=3, bins=EDGES)
    )
    np.testing.assert_array_equal(P.to_jet_frame(dirty, mask)[0], P.to_jet_frame(p4, mask)[0])

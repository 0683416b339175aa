from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest
import torch

from hypervae import physics as P
from tests.conftest import boost_z, rotate_z


def slow_pair(a, b):
    """Reference for one pair, written with the math module."""

    def y_phi_pt(p):
        e, px, py, pz = p
        return 0.5 * math.log((e + pz) / (e - pz)), math.atan2(py, px), math.hypot(px, py)

    ya, pa, pta = y_phi_pt(a)
    yb, pb, ptb = y_phi_pt(b)
    dphi = (pa - pb + math.pi) % (2 * math.pi) - math.pi
    delta = math.sqrt((ya - yb) ** 2 + dphi**2)
    ptmin = min(pta, ptb)
    e = a[0] + b[0]
    p2 = sum((a[k] + b[k]) ** 2 for k in (1, 2, 3))
    clamp = lambda v: math.log(max(v, 1e-8))
    return [clamp(delta), clamp(ptmin * delta), clamp(ptmin / (pta + ptb)), clamp(e * e - p2)]


def test_hand_computed_pair():
    p4 = P.ptetaphim_to_cartesian([[10.0, 10.0]], [[0.0, 0.0]], [[0.0, np.pi / 2]])
    feats, w2 = P.pairwise_features(p4)
    ln_dr, ln_kt, ln_z, ln_m2 = feats[0, 0, 1]
    assert ln_dr == pytest.approx(math.log(math.pi / 2))
    assert ln_kt == pytest.approx(math.log(10 * math.pi / 2))
    assert ln_z == pytest.approx(math.log(0.5))
    assert ln_m2 == pytest.approx(math.log(200.0))  # (20)^2 - (10^2 + 10^2)
    assert w2[0, 0, 1] == pytest.approx(0.25)
    # diagonal: Delta = 0 is clamped, not -inf
    assert feats[0, 0, 0, 0] == pytest.approx(math.log(1e-8))


def test_matches_slow_loop(padded):
    p4, mask = padded
    feats, w2 = P.pairwise_features(p4, mask)
    for j in range(len(p4)):
        n = int(mask[j].sum())
        pt = np.hypot(p4[j, :n, 1], p4[j, :n, 2])
        for a in range(n):
            for b in range(n):
                if a == b:
                    continue
                np.testing.assert_allclose(
                    feats[j, a, b], slow_pair(p4[j, a], p4[j, b]), rtol=1e-9, atol=1e-9
                )
                assert w2[j, a, b] == pytest.approx(pt[a] * pt[b] / pt.sum() ** 2, rel=1e-12)
    assert np.all(feats[~mask] == 0)
    assert np.all(w2[~mask] == 0)


def test_torch_path_agrees(padded):
    p4, mask = padded
    feats, w2 = P.pairwise_features(p4, mask)
    tf, tw = P.pairwise_features_torch(torch.from_numpy(p4), torch.from_numpy(mask))
    np.testing.assert_allclose(tf.numpy(), feats, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(tw.numpy(), w2, rtol=1e-12, atol=1e-15)


def test_torch_gradients_finite_with_padding(padded):
    p4, mask = padded
    x = torch.from_numpy(p4).requires_grad_(True)
    feats, w2 = P.pairwise_features_torch(x, torch.from_numpy(mask))
    (feats.sum() + w2.sum()).backward()
    assert torch.isfinite(x.grad).all()
    assert x.grad[torch.from_numpy(mask)].abs().sum() > 0


def test_invariant_under_boosts_and_rotations(padded, rng):
    p4, mask = padded
    moved = rotate_z(boost_z(p4, rng.normal(0, 2)), rng.uniform(-np.pi, np.pi))
    a = P.pairwise_features(p4, mask)
    b = P.pairwise_features(moved, mask)
    np.testing.assert_allclose(b[0], a[0], rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(b[1], a[1], rtol=1e-9, atol=1e-15)


def test_permutation_equivariant(padded, rng):
    p4, mask = padded
    perm = rng.permutation(p4.shape[1])
    a, wa = P.pairwise_features(p4, mask)
    b, wb = P.pairwise_features(p4[:, perm], mask[:, perm])
    np.testing.assert_allclose(b, a[:, perm][:, :, perm], rtol=1e-12)
    np.testing.assert_allclose(wb, wa[:, perm][:, :, perm], rtol=1e-12)


def test_awkward_pairs(particles, padded):
    p4, mask = padded
    pairs = P.pairwise(particles)
    counts = mask.sum(1)
    assert ak.num(pairs).tolist() == (counts * (counts - 1) // 2).tolist()
    assert ak.all(pairs.i < pairs.j)
    feats, _ = P.pairwise_features(p4, mask)
    j = 1
    for row in pairs[j].tolist():
        np.testing.assert_allclose(
            [row[f] for f in P.FEATURES], feats[j, row["i"], row["j"]], rtol=1e-12
        )
    # w2 of distinct pairs + diagonal adds up to (sum w)^2 = 1
    w = ak.to_numpy(ak.pad_none(particles.pt, p4.shape[1]).to_numpy(allow_missing=True).filled(0))
    diag = ((w / w.sum(1, keepdims=True)) ** 2).sum(1)
    np.testing.assert_allclose(2 * ak.sum(pairs.w2, axis=1).to_numpy() + diag, 1.0, rtol=1e-12)


def test_awkward_chunking_does_not_change_pairs(particles):
    whole = P.pairwise(particles)
    chunked = P.pairwise(particles, chunk_size=2)
    assert ak.num(chunked).tolist() == ak.num(whole).tolist()
    for field in ("i", "j", "w2", *P.FEATURES):
        np.testing.assert_array_equal(
            ak.flatten(chunked[field]).to_numpy(), ak.flatten(whole[field]).to_numpy()
        )

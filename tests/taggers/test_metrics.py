from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hypervae.taggers.metrics import (
    accuracy,
    auc_confidence_interval,
    background_rejection,
    midranks,
    roc_auc,
    roc_curve,
    tagging_metrics,
)


def _psi(pos, neg):
    return (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])


def test_auc_hand_values():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    assert roc_auc([0, 1, 0, 1], [1.0, 1.0, 1.0, 1.0]) == 0.5
    assert roc_auc([1, 1, 0], [3, 2, 1]) == 1.0
    assert roc_auc([0, 0, 1], [3, 2, 1]) == 0.0


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 5)), min_size=2, max_size=40))
def test_auc_equals_pairwise_count_with_ties(pairs):
    labels = np.array([p[0] for p in pairs])
    scores = np.array([p[1] for p in pairs], dtype=float)
    if labels.all() or not labels.any():
        return
    brute = _psi(scores[labels], scores[~labels]).mean()
    assert roc_auc(labels, scores) == pytest.approx(brute, abs=1e-12)


def test_midranks():
    assert midranks([2, 2, 2, 1]).tolist() == [3.0, 3.0, 3.0, 1.0]


def test_delong_interval_matches_structural_components():
    rng = np.random.default_rng(1)
    labels = rng.uniform(size=300) < 0.4
    scores = np.round(rng.normal(size=300) + labels, 1)  # rounding creates ties
    pos, neg = scores[labels], scores[~labels]
    psi = _psi(pos, neg)
    var = psi.mean(1).var(ddof=1) / pos.size + psi.mean(0).var(ddof=1) / neg.size
    auc, low, high = auc_confidence_interval(labels, scores, level=0.95)
    assert auc == pytest.approx(psi.mean(), abs=1e-12)
    assert high - auc == pytest.approx(1.959963985 * math.sqrt(var), rel=1e-6)
    assert auc - low == pytest.approx(high - auc)
    _, low90, high90 = auc_confidence_interval(labels, scores, level=0.9)
    assert low < low90 < auc < high90 < high


def test_roc_curve_and_rejection():
    labels = np.array([1, 1, 1, 0, 1, 0, 0, 0, 1])
    scores = np.array([10, 9, 8, 7.5, 7, 3, 2, 1, 0])
    fpr, tpr, thr = roc_curve(labels, scores)
    assert tpr.tolist() == [0, 0.2, 0.4, 0.6, 0.6, 0.8, 0.8, 0.8, 0.8, 1.0]
    assert fpr.tolist() == [0, 0, 0, 0, 0.25, 0.25, 0.5, 0.75, 1.0, 1.0]
    assert thr[0] == np.inf
    assert background_rejection(labels, scores, 0.8) == pytest.approx(4.0)
    assert background_rejection(labels, scores, 0.7) == pytest.approx(1 / 0.25)
    assert background_rejection(labels, scores, 0.5) == math.inf
    assert background_rejection(labels, scores, 0.6) == math.inf
    assert background_rejection(labels, scores, 0.9) == 1.0
    assert background_rejection([1, 0], [1.0, 1.0], 0.5) == pytest.approx(2.0)  # interpolated


def test_tagging_metrics_one_vs_rest():
    labels = np.array([0, 0, 1, 1, 2, 2])
    probs = np.array(
        [
            [0.8, 0.1, 0.1],
            [0.3, 0.6, 0.1],
            [0.1, 0.8, 0.1],
            [0.2, 0.7, 0.1],
            [0, 0.2, 0.8],
            [0.1, 0, 0.9],
        ]
    )
    m = tagging_metrics(labels, probs, ["g", "q", "t"])
    assert m["accuracy"] == pytest.approx(5 / 6)
    assert m["auc_g"] == roc_auc(labels == 0, probs[:, 0])
    assert m["auc_t"] == 1.0
    assert m["auc_macro"] == pytest.approx(np.mean([m["auc_g"], m["auc_q"], m["auc_t"]]))
    assert m["rejection80_t"] == math.inf
    assert accuracy(labels, probs) == m["accuracy"]
    with pytest.raises(ValueError, match="class_names has 2 entries for 3 classes"):
        tagging_metrics(labels, probs, ["a", "b"])


def test_errors():
    with pytest.raises(ValueError, match="at least one positive and one negative"):
        roc_auc([1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="scores: entry 1 is not finite"):
        roc_auc([0, 1], [0.1, float("nan")])

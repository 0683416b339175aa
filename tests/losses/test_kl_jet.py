from __future__ import annotations

import math

import pytest
import torch

from hypervae.losses import (
    consistency_loss,
    jet_feature_loss,
    jet_features_from_particles,
    kl_divergence,
    kl_weight,
)


def test_kl_matches_closed_form():
    mu = torch.tensor([[0.5, -1.0], [0.0, 2.0]])
    logvar = torch.tensor([[0.1, -0.3], [0.2, 0.0]])
    slow = 0.0
    for b in range(2):
        for d in range(2):
            s2 = math.exp(logvar[b, d])
            slow += 0.5 * (mu[b, d] ** 2 + s2 - 1 - math.log(s2))
    assert float(kl_divergence(mu, logvar)) == pytest.approx(float(slow) / 2, rel=1e-6)


def test_free_bits_stop_gradient_below_threshold():
    mu = torch.tensor([[0.01, 3.0]], requires_grad=True)
    kl = kl_divergence(mu, torch.zeros(1, 2), free_bits=0.5)
    assert float(kl.detach()) == pytest.approx(0.5 + 4.5)
    kl.backward()
    assert mu.grad[0, 0] == 0
    assert mu.grad[0, 1] == pytest.approx(3.0)


def test_kl_weight_schedules():
    assert [kl_weight(s, 4, max_weight=2.0) for s in range(6)] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.0]
    cyc = [kl_weight(s, 12, schedule="cyclic", n_cycles=3) for s in range(14)]
    assert cyc[:4] == [0.0, 0.5, 1.0, 1.0]
    assert cyc[4:8] == cyc[:4]
    assert cyc[12:] == [1.0, 1.0]
    assert kl_weight(0, 10, max_weight=0.3, schedule="constant") == 0.3
    with pytest.raises(ValueError, match="schedule"):
        kl_weight(1, 10, schedule="cosine")


def test_jet_feature_and_consistency():
    assert float(
        jet_feature_loss(torch.tensor([[1.0, 0.0, 2.0]]), torch.zeros(1, 3), [2.0, 1.0, 0.25])
    ) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="same shape"):
        jet_feature_loss(torch.zeros(2, 3), torch.zeros(2, 2))
    p4 = torch.tensor(
        [[[5.0, 3.0, 0.0, 4.0], [5.0, -3.0, 0.0, 4.0], [9.0, 9.0, 9.0, 9.0]]], dtype=torch.float64
    )
    mask = torch.tensor([[True, True, False]])
    feats = jet_features_from_particles(p4, mask)
    # sum = (10, 0, 0, 8): pT ~ 0, mass 6
    assert float(feats[0, 2]) == pytest.approx(6.0)
    assert float(consistency_loss(p4, mask, feats)) == pytest.approx(0.0, abs=1e-12)
    assert float(
        consistency_loss(p4, mask, feats + torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64))
    ) == pytest.approx(1.0)

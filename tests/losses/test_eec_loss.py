from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch

from hypervae import physics as P
from hypervae.losses import eec_distribution_loss, eec_values_torch, wasserstein_1d
from tests.conftest import random_padded


@pytest.mark.parametrize("n", [2, 3])
def test_values_reproduce_physics_histograms(n):
    p4, mask = random_padded(np.random.default_rng(3), n_jets=5, n_max=8)
    values, weights = eec_values_torch(torch.from_numpy(p4), torch.from_numpy(mask), n)
    edges = P.bin_edges(20, (1e-3, 3.0))
    hist = np.stack(
        [
            np.histogram(values[j].numpy(), bins=np.log(edges), weights=weights[j].numpy())[0]
            for j in range(5)
        ]
    )
    np.testing.assert_allclose(
        hist, P.eec((p4, mask), n=n, bins=20, rl_range=(1e-3, 3.0)), rtol=1e-9, atol=1e-14
    )


def test_wasserstein_matches_scipy():
    rng = np.random.default_rng(4)
    u, v, a, b = (
        rng.normal(size=40),
        rng.normal(1, 2, size=25),
        rng.uniform(size=40),
        rng.uniform(size=25),
    )
    got = wasserstein_1d(*(torch.tensor(z) for z in (u, v, a, b)))
    assert float(got) == pytest.approx(scipy.stats.wasserstein_distance(u, v, a, b), rel=1e-10)


def test_loss_zero_for_equal_and_gradients_reach_particles():
    p4, mask = random_padded(np.random.default_rng(5), n_jets=4, n_max=7)
    tp4, tmask = random_padded(np.random.default_rng(6), n_jets=6, n_max=9)
    x = torch.from_numpy(p4)
    m = torch.from_numpy(mask)
    assert float(eec_distribution_loss((x, m), (x, m), n=3)) == pytest.approx(0.0, abs=1e-12)
    xg = x.clone().requires_grad_(True)
    loss = eec_distribution_loss((xg, m), (torch.from_numpy(tp4), torch.from_numpy(tmask)), n=3)
    assert float(loss.detach()) > 0
    loss.backward()
    assert torch.isfinite(xg.grad).all()
    assert xg.grad[m].abs().sum() > 0
    assert torch.all(xg.grad[~m] == 0)
    # a gradient step moves the generated EEC towards the target
    with torch.no_grad():
        stepped = xg - 1e-2 * xg.grad / xg.grad.abs().max()
    after = eec_distribution_loss(
        (stepped, m), (torch.from_numpy(tp4), torch.from_numpy(tmask)), n=3
    )
    assert float(after) < float(loss.detach())

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
import torch

from hypervae import physics as P
from hypervae.losses import eec as eec_module
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


# recorded with the separate torch implementation that losses/eec.py had before it used
# hypervae.physics.tuples (issue 13): (seeds, n_max) -> loss, sum |grad|, grad of p4[0, 0]
PINNED = {
    2: ((11, 12, 9), 0.09691041639168878, 0.6632105971874094,
        [0.016193901020695515, 0.0071101351502278415, -0.004459906976462436, 0.022717410231767026]),
    3: ((13, 14, 8), 0.23850073532810612, 0.4673609121069558,
        [0.0006257064155737757, 0.0004320742166500328, 0.0002626766661230651, 0.0010936370874685254]),
    4: ((15, 16, 6), 0.13297851371595784, 0.41199320698785197,
        [-0.004459730911724644, 0.0001288934462545531, -0.0010847342419530504, -0.006843699738718819]),
}  # fmt: skip


@pytest.mark.parametrize("n", [2, 3, 4])
def test_loss_numbers_unchanged_by_the_shared_implementation(n):
    (s1, s2, n_max), loss_value, grad_sum, grad00 = PINNED[n]
    p4, mask = random_padded(np.random.default_rng(s1), n_jets=5, n_max=n_max)
    tp4, tmask = random_padded(np.random.default_rng(s2), n_jets=4, n_max=n_max + 1)
    x = torch.from_numpy(p4).requires_grad_(True)
    target = (torch.from_numpy(tp4), torch.from_numpy(tmask))
    loss = eec_distribution_loss((x, torch.from_numpy(mask)), target, n=n)
    loss.backward()
    assert float(loss.detach()) == pytest.approx(loss_value, rel=1e-12)
    assert float(x.grad.abs().sum()) == pytest.approx(grad_sum, rel=1e-10)
    np.testing.assert_allclose(x.grad[0, 0].numpy(), grad00, rtol=1e-10)
    values, weights = eec_values_torch(torch.from_numpy(p4), torch.from_numpy(mask), n)
    rl, wt = P.eec_values(p4, mask, n)
    np.testing.assert_allclose(values.numpy(), np.log(rl), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(weights.numpy(), wt, rtol=1e-12, atol=1e-15)


def test_collinear_distinct_particles_enter_the_loss():
    """Only i = j is dropped: a collinear distinct pair enters at ln R_L = ln 1e-8."""
    p4 = P.ptetaphim_to_cartesian([[100.0, 50.0, 30.0]], [[0.7, 0.7, 1.0]], [[0.2, 0.2, 0.2]])
    x, mask = torch.from_numpy(p4), torch.ones(1, 3, dtype=torch.bool)
    values, weights = eec_values_torch(x, mask, 2)
    assert float(values[0, 0]) == pytest.approx(np.log(1e-8))
    assert float(weights[0, 0]) == pytest.approx(2 * 100 * 50 / 180**2)


def test_loss_module_imports_no_private_physics_name():
    tree = ast.parse(Path(eec_module.__file__).read_text())
    imported = [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and "physics" in (node.module or "")
        for alias in node.names
    ]
    assert imported
    assert not [name for name in imported if name.startswith("_")]

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

import hypervae as hv
from hypervae.losses import chamfer_distance, emd_distance


def slow_chamfer(x, y, xm, ym, squared, w_energy, alpha):
    out = []
    for j in range(len(x)):
        xs = [p for p, m in zip(x[j], xm[j], strict=True) if m]
        ys = [p for p, m in zip(y[j], ym[j], strict=True) if m]

        def d(p, q):
            s = w_energy * (p[0] - q[0]) ** 2 + sum((p[k] - q[k]) ** 2 for k in range(1, len(p)))
            return s if squared else math.sqrt(s)

        def weights(ps):
            raw = [1.0 if alpha is None else math.hypot(p[1], p[2]) ** alpha for p in ps]
            return [r / sum(raw) for r in raw]

        wx, wy = weights(xs), weights(ys)
        total = sum(w * min(d(p, q) for q in ys) for w, p in zip(wx, xs, strict=True))
        total += sum(w * min(d(p, q) for p in xs) for w, q in zip(wy, ys, strict=True))
        out.append(total)
    return np.array(out)


@pytest.mark.parametrize(
    ("squared", "w_energy", "alpha"), [(True, 1.0, None), (False, 0.5, None), (True, 2.0, 1.0)]
)
def test_matches_slow_loop(squared, w_energy, alpha):
    g = torch.Generator().manual_seed(0)
    x, y = (
        torch.randn(3, 5, 4, generator=g, dtype=torch.float64),
        torch.randn(3, 7, 4, generator=g, dtype=torch.float64),
    )
    xm = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=torch.bool)
    ym = torch.tensor([[1] * 7, [1, 1, 0, 0, 0, 0, 0], [1, 1, 1, 0, 0, 0, 0]], dtype=torch.bool)
    got = chamfer_distance(
        x, y, xm, ym, squared=squared, w_energy=w_energy, alpha=alpha, reduction="none"
    )
    want = slow_chamfer(x.numpy(), y.numpy(), xm.numpy(), ym.numpy(), squared, w_energy, alpha)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)
    assert float(
        chamfer_distance(x, y, xm, ym, squared=squared, w_energy=w_energy, alpha=alpha)
    ) == pytest.approx(want.mean(), rel=1e-6)


def test_properties():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 6, 4, generator=g)
    assert float(chamfer_distance(x, x)) == 0.0
    perm = torch.randperm(6, generator=g)
    y = torch.randn(2, 4, 4, generator=g)
    assert torch.allclose(
        chamfer_distance(x[:, perm], y, reduction="none"), chamfer_distance(x, y, reduction="none")
    )
    # padding content is ignored
    mask = torch.ones(2, 6, dtype=torch.bool)
    mask[:, 4:] = False
    garbage = x.clone()
    garbage[:, 4:] = 1e6
    assert torch.allclose(chamfer_distance(x, y, mask), chamfer_distance(garbage, y, mask))
    assert torch.allclose(chamfer_distance(x, y, mask), chamfer_distance(x[:, :4], y))
    xg = x.clone().requires_grad_(True)
    chamfer_distance(xg, y, mask).backward()
    assert xg.grad[:, :4].abs().sum() > 0
    assert torch.all(xg.grad[:, 4:] == 0)


def test_errors():
    with pytest.raises(ValueError, match="must be"):
        chamfer_distance(torch.zeros(2, 3, 4), torch.zeros(3, 3, 4))
    mask = torch.tensor([[True], [False]])
    with pytest.raises(ValueError, match="jet 1: one set is empty"):
        chamfer_distance(torch.zeros(2, 1, 4), torch.zeros(2, 1, 4), mask)
    with pytest.raises(ValueError, match="reduction"):
        chamfer_distance(torch.zeros(1, 1, 4), torch.zeros(1, 1, 4), reduction="max")


def test_emd_matches_brute_force_assignment():
    g = torch.Generator().manual_seed(2)
    x, y = (
        torch.randn(2, 4, 3, generator=g, dtype=torch.float64),
        torch.randn(2, 4, 3, generator=g, dtype=torch.float64),
    )
    got = emd_distance(x, y)
    for j in range(2):
        best = min(
            sum(float(torch.dist(x[j, i], y[j, p[i]])) for i in range(4)) / 4
            for p in itertools.permutations(range(4))
        )
        assert float(got[j]) == pytest.approx(best, rel=1e-9)
    # EMD >= the one-sided nearest-neighbour sums; masks respected
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.bool)
    assert float(emd_distance(x, y, mask, mask)[1]) == pytest.approx(
        float(emd_distance(x[1:, :2], y[1:, :2])[0])
    )
    assert hv.losses.emd_distance is emd_distance


@pytest.mark.parametrize("poison", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize(("squared", "alpha"), [(True, None), (False, 1.0)])
def test_non_finite_padding_reaches_neither_value_nor_gradients(poison, squared, alpha):
    """Regression (issue 14): NaN in padded slots leaked through torch.where into gradients."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(3, 6, 4, generator=g, dtype=torch.float64)
    y = torch.randn(3, 5, 4, generator=g, dtype=torch.float64)
    xm = torch.tensor([[1, 1, 1, 0, 0, 0], [1] * 6, [1, 1, 0, 0, 0, 0]], dtype=torch.bool)
    ym = torch.tensor([[1, 1, 0, 0, 0], [1, 1, 1, 1, 0], [1] * 5], dtype=torch.bool)

    def run(xv, yv):
        xg, yg = xv.clone().requires_grad_(True), yv.clone().requires_grad_(True)
        value = chamfer_distance(xg, yg, xm, ym, squared=squared, alpha=alpha)
        value.backward()
        return value.detach(), xg.grad, yg.grad

    clean = run(torch.where(xm[..., None], x, 0.0), torch.where(ym[..., None], y, 0.0))
    dirty = run(
        torch.where(xm[..., None], x, torch.full_like(x, poison)),
        torch.where(ym[..., None], y, torch.full_like(y, poison)),
    )
    assert torch.isfinite(dirty[0])
    assert torch.equal(dirty[0], clean[0])
    for got, want in zip(dirty[1:], clean[1:], strict=True):
        assert torch.isfinite(got).all()
        assert torch.equal(got, want)
        assert want.abs().sum() > 0
    assert torch.all(dirty[1][~xm] == 0)
    assert torch.all(dirty[2][~ym] == 0)
    # the EMD reads only the real points too
    np.testing.assert_allclose(
        emd_distance(torch.where(xm[..., None], x, poison), y, xm, ym).numpy(),
        emd_distance(torch.where(xm[..., None], x, 0.0), y, xm, ym).numpy(),
    )

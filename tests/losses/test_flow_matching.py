"""flow_matching_loss: masked conditional flow matching on the linear path."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hypervae.losses import euler_distillation_loss, flow_matching_loss, interpolate


def _batch(seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    x1 = torch.randn(4, 6, 3, generator=g, dtype=torch.float64)
    x0 = torch.randn(4, 6, 3, generator=g, dtype=torch.float64)
    t = torch.rand(4, generator=g, dtype=torch.float64)
    mask = torch.arange(6)[None, :] < torch.tensor([[6], [3], [1], [5]])
    return x0, x1, t, mask


def test_zero_for_the_exact_velocity_and_positive_otherwise():
    x0, x1, t, mask = _batch()
    assert float(flow_matching_loss(x1 - x0, x0, x1, t, mask)) == 0.0
    assert float(flow_matching_loss(x1 - x0 + 0.1, x0, x1, t, mask)) > 0.0


def test_matches_a_reference_loop():
    x0, x1, t, mask = _batch(1)
    v = torch.randn_like(x1)
    total, count = 0.0, 0
    for b in range(x1.shape[0]):
        for p in range(x1.shape[1]):
            if mask[b, p]:
                total += float(((v[b, p] - (x1[b, p] - x0[b, p])) ** 2).sum())
                count += 1
    assert float(flow_matching_loss(v, x0, x1, t, mask)) == pytest.approx(total / count, rel=1e-12)


def test_interpolate_ends_at_noise_and_data():
    x0, x1, _, _ = _batch(2)
    assert torch.equal(interpolate(x0, x1, torch.zeros(4, dtype=torch.float64)), x0)
    assert torch.allclose(interpolate(x0, x1, torch.ones(4, dtype=torch.float64)), x1)
    half = interpolate(x0, x1, torch.full((4,), 0.5, dtype=torch.float64))
    assert torch.allclose(half, (x0 + x1) / 2)


def test_gradient_reaches_every_parameter_of_a_small_net():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3)).double()
    x0, x1, t, mask = _batch(3)
    xt = interpolate(x0, x1, t)
    v = net(torch.cat([xt, t[:, None, None].expand(-1, 6, 1)], -1))
    flow_matching_loss(v, x0, x1, t, mask).backward()
    for name, p in net.named_parameters():
        assert p.grad is not None, name
        assert float(p.grad.abs().sum()) > 0, name


def test_padding_ignored_even_with_nan():
    x0, x1, t, mask = _batch(4)
    v = torch.randn_like(x1, requires_grad=True)
    clean = flow_matching_loss(v, x0, x1, t, mask)
    x0n, x1n = x0.clone(), x1.clone()
    x0n[~mask], x1n[~mask] = float("nan"), float("inf")
    vn = v.detach().clone()
    vn[~mask] = float("nan")
    vn.requires_grad_(True)
    dirty = flow_matching_loss(vn, x0n, x1n, t, mask)
    assert dirty.item() == clean.item()
    dirty.backward()
    assert vn.grad is not None
    assert bool(torch.isfinite(vn.grad).all())
    assert bool((vn.grad[~mask] == 0).all())


def test_no_real_element_gives_zero():
    x0, x1, t, _ = _batch(5)
    mask = torch.zeros(4, 6, dtype=torch.bool)
    assert float(flow_matching_loss(torch.randn_like(x1), x0, x1, t, mask)) == 0.0


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"x0": torch.zeros(4, 5, 3)}, "x0"),
        ({"t": torch.zeros(3)}, "t"),
        ({"mask": torch.ones(4, 5, dtype=torch.bool)}, "mask"),
    ],
)
def test_bad_shapes_name_the_argument(kwargs, name):
    x0, x1, t, mask = (a.float() if a.is_floating_point() else a for a in _batch())
    args = {"v_pred": torch.zeros(4, 6, 3), "x0": x0, "x1": x1, "t": t, "mask": mask} | kwargs
    with pytest.raises(ValueError, match=rf"^{name} "):
        flow_matching_loss(**args)


def test_euler_distillation_zero_when_the_step_lands_and_a_reference_loop_otherwise():
    x_start, x_end, _, mask = _batch(5)
    for dt in (1.0, 0.5, 0.25):
        exact = (x_end - x_start) / dt
        assert float(euler_distillation_loss(exact, x_start, x_end, dt, mask)) == 0.0
        assert torch.allclose(x_start + dt * exact, x_end)
    v = torch.randn_like(x_end)
    total, count = 0.0, 0
    for b in range(v.shape[0]):
        for p in range(v.shape[1]):
            if mask[b, p]:
                step = x_start[b, p] + 0.25 * v[b, p]  # where one Euler step lands
                total += float(((step - x_end[b, p]) ** 2).sum()) / 0.25**2
                count += 1
    loss = euler_distillation_loss(v, x_start, x_end, 0.25, mask)
    assert float(loss) == pytest.approx(total / count, rel=1e-12)


def test_euler_distillation_is_flow_matching_for_one_unit_step():
    x0, x1, t, mask = _batch(6)
    v = torch.randn_like(x1)
    assert float(euler_distillation_loss(v, x0, x1, 1.0, mask)) == pytest.approx(
        float(flow_matching_loss(v, x0, x1, t, mask)), rel=1e-12
    )


def test_euler_distillation_ignores_padding_and_refuses_bad_input():
    x_start, x_end, _, mask = _batch(7)
    x_end = torch.where(mask[..., None], x_end, torch.full((), float("nan"), dtype=x_end.dtype))
    v = torch.zeros_like(x_end, requires_grad=True)
    loss = euler_distillation_loss(v, x_start, x_end, 0.5, mask)
    loss.backward()
    assert torch.isfinite(loss)
    assert v.grad is not None
    assert bool(torch.isfinite(v.grad).all())
    assert float(v.grad[~mask].abs().sum()) == 0.0
    with pytest.raises(ValueError, match="dt must be in"):
        euler_distillation_loss(v, x_start, x_end, 0.0, mask)
    with pytest.raises(ValueError, match="x_end has shape"):
        euler_distillation_loss(v, x_start, x_end[:, :3], 0.5)

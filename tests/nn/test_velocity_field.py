"""Velocity fields for flow matching: shapes, permutation equivariance, padding."""

from __future__ import annotations

import pytest
import torch

from hypervae.nn import LGATrVelocityField, SetTransformerVelocityField, time_embedding

COND = 5


def _field(kind: str) -> torch.nn.Module:
    torch.manual_seed(0)
    if kind == "transformer":
        net = SetTransformerVelocityField(3, COND, width=16, layers=2, heads=2)
    else:
        net = LGATrVelocityField(COND, width=8, layers=1, vector_channels=4, heads=2)
    return net.double().eval()


def _inputs(seed: int = 0, b: int = 3, p: int = 7) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, p, 3, generator=g, dtype=torch.float64)
    t = torch.rand(b, generator=g, dtype=torch.float64)
    c = torch.randn(b, COND, generator=g, dtype=torch.float64)
    mask = torch.arange(p)[None, :] < torch.tensor([[p], [4], [1]])[:b]
    return x, t, c, mask


KINDS = ["transformer", "lgatr"]


@pytest.mark.parametrize("kind", KINDS)
def test_shape_and_zero_on_padding(kind):
    x, t, c, mask = _inputs()
    v = _field(kind)(x, t, c, mask)
    assert v.shape == x.shape
    assert bool((v[~mask] == 0).all())
    assert bool((v[mask] != 0).any())


@pytest.mark.parametrize("kind", KINDS)
def test_permutation_equivariant(kind):
    net = _field(kind)
    x, t, c, _ = _inputs(1)
    mask = torch.ones(3, 7, dtype=torch.bool)
    mask[1, 5:] = False
    perm = torch.randperm(7, generator=torch.Generator().manual_seed(2))
    v = net(x, t, c, mask)
    vp = net(x[:, perm], t, c, mask[:, perm])
    torch.testing.assert_close(vp, v[:, perm], atol=1e-6, rtol=0)


@pytest.mark.parametrize("kind", KINDS)
def test_padding_invariant_even_with_nan(kind):
    net = _field(kind)
    x, t, c, mask = _inputs(3)
    v = net(x, t, c, mask)
    dirty = x.clone()
    dirty[~mask] = float("nan")
    torch.testing.assert_close(net(dirty, t, c, mask), v, atol=1e-12, rtol=0)
    # more padded slots change nothing either
    wider = torch.cat([x, torch.randn(3, 4, 3, dtype=torch.float64)], 1)
    wide_mask = torch.cat([mask, torch.zeros(3, 4, dtype=torch.bool)], 1)
    torch.testing.assert_close(net(wider, t, c, wide_mask)[:, :7], v, atol=1e-12, rtol=0)


@pytest.mark.parametrize("kind", KINDS)
def test_depends_on_time_condition_and_other_particles(kind):
    net = _field(kind)
    x, t, c, mask = _inputs(4)
    v = net(x, t, c, mask)
    assert not torch.allclose(net(x, t + 0.3, c, mask)[mask], v[mask])
    assert not torch.allclose(net(x, t, c + 1.0, mask)[mask], v[mask])
    moved = x.clone()
    moved[0, 1] += 1.0  # particle 0's velocity depends on particle 1 (attention)
    assert not torch.allclose(net(moved, t, c, mask)[0, 0], v[0, 0])


#: LGATrSlim weights that only feed its vector output, which the velocity field does
#: not use (its outputs are the scalar channels): the last block's vector MLP and norm
#: and the output vector projection
_VECTOR_ONLY = {
    "net.blocks.0.norm2.weight_v",
    "net.blocks.0.mlp.layers.0.linear.weight_v",
    "net.blocks.0.mlp.layers.1.weight_v",
    "net.linear_out.weight_v",
}


@pytest.mark.parametrize("kind", KINDS)
def test_gradient_reaches_every_parameter(kind):
    net = _field(kind).train()
    x, t, c, mask = _inputs(5)
    net(x, t, c, mask).pow(2).sum().backward()
    missing = set()
    for name, p in net.named_parameters():
        if p.grad is None or float(p.grad.abs().sum()) == 0:
            missing.add(name)
        else:
            assert bool(torch.isfinite(p.grad).all()), name
    assert missing == (_VECTOR_ONLY if kind == "lgatr" else set())


def test_set_without_real_particles_is_finite_and_zero():
    net = _field("transformer")
    x, t, c, mask = _inputs(6)
    mask[2] = False
    v = net(x, t, c, mask)
    assert bool(torch.isfinite(v).all())
    assert bool((v[2] == 0).all())


def test_width_must_divide_heads():
    with pytest.raises(ValueError, match="width=10"):
        SetTransformerVelocityField(3, COND, width=10, heads=4)


def test_time_embedding_shape_and_range():
    e = time_embedding(torch.tensor([0.0, 0.25, 1.0]), 8)
    assert e.shape == (3, 8)
    assert float(e.abs().max()) <= 1.0
    assert not torch.allclose(e[0], e[1])

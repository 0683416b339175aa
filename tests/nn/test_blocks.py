from __future__ import annotations

import pytest
import torch

from hypervae.nn import IncidenceCrossAttention, ParticleLGATr, ResidualMLP
from tests.lorentz import metric, random_lorentz


def test_random_lorentz_preserves_metric():
    lam = random_lorentz(torch.Generator().manual_seed(0))
    torch.testing.assert_close(lam.T @ metric() @ lam, metric(), atol=1e-12, rtol=0)


@pytest.mark.parametrize("backbone", ["slim", "full"])
def test_lgatr_equivariance_and_padding(backbone):
    g = torch.Generator().manual_seed(1)
    net = ParticleLGATr(1, 1, 1, 6, {"backbone": backbone, "num_blocks": 1}).double().eval()
    v = torch.randn(2, 5, 1, 4, generator=g, dtype=torch.float64)
    s = torch.randn(2, 5, 1, generator=g, dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    out_v, out_s = net(v, s, mask)
    lam = random_lorentz(g)
    moved_v, moved_s = net(v @ lam.T, s, mask)
    assert (moved_s - out_s).abs().max() < 1e-9  # invariant scalars
    assert (moved_v - out_v @ lam.T).abs().max() < 1e-9  # equivariant vectors
    garbage = v.clone()
    garbage[1, 3:] = 1e3
    gv, gs = net(garbage, s, mask)
    torch.testing.assert_close(gs[1, :3], out_s[1, :3])
    torch.testing.assert_close(gv[1, :3], out_v[1, :3])


def test_spurions_break_symmetry_on_request():
    g = torch.Generator().manual_seed(2)
    net = ParticleLGATr(1, 1, 0, 4, {"spurions": True, "num_blocks": 1}).double()
    v = torch.randn(1, 4, 1, 4, generator=g, dtype=torch.float64)
    s = torch.ones(1, 4, 1, dtype=torch.float64)
    mask = torch.ones(1, 4, dtype=torch.bool)
    _, a = net(v, s, mask)
    _, b = net(v @ random_lorentz(g).T, s, mask)
    assert (a - b).abs().max() > 1e-6
    with pytest.raises(ValueError, match="backbone"):
        ParticleLGATr(1, 1, 1, 1, {"backbone": "big"})
    with pytest.raises(ValueError, match=r"ParticleLGATrConfig\.blocks: unknown key"):
        ParticleLGATr(1, 1, 1, 1, {"blocks": 2})


def test_residual_mlp_shapes_and_residual():
    mlp = ResidualMLP(5, 8, num_blocks=1)
    x = torch.randn(7, 5)
    assert mlp(x).shape == (7, 8)
    torch.nn.init.zeros_(mlp.blocks[0][-1].weight)
    torch.nn.init.zeros_(mlp.blocks[0][-1].bias)
    torch.testing.assert_close(mlp(x), mlp.embed(x))  # blocks are residual


def test_incidence_attention_exact_values():
    att = IncidenceCrossAttention(2, num_heads=1)
    with torch.no_grad():
        for lin in (att.q, att.out):
            lin.weight.copy_(torch.eye(2))
            lin.bias.zero_()
        att.k.weight.copy_(torch.eye(2))
        att.v.weight.copy_(torch.eye(2))
        att.v.bias.zero_()
    att.norm_q = torch.nn.Identity()
    att.norm_kv = torch.nn.Identity()
    h = torch.tensor([[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    tokens = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    inc = torch.tensor([[0, 0, 1], [0, 1, 1]])  # particle 0 sees both tokens, 1 sees token 1
    out = att(h, tokens, inc)
    a = torch.softmax(torch.tensor([2.0, 0.0]) / 2**0.5, 0)
    torch.testing.assert_close(out[0], h[0] + a[0] * tokens[0] + a[1] * tokens[1])
    torch.testing.assert_close(out[1], h[1] + tokens[1])
    torch.testing.assert_close(out[2], h[2])  # no incident token: unchanged
    with pytest.raises(ValueError, match="divisible"):
        IncidenceCrossAttention(6, 4)

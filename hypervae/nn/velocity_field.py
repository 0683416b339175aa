r"""A set-transformer velocity field for flow matching on particle sets.

Each particle's coordinates are embedded, then ``layers`` pre-norm transformer blocks
let the particles attend to each other (particle–particle self-attention over the real
particles only; i.i.d. points cannot reproduce the correlations of a jet). Every block
is conditioned through adaptive layer norm (adaLN, Peebles & Xie 2022): a per-set
condition vector, built from the caller's condition (latent code, jet type, jet-level
scalars...) and a sinusoidal embedding of the flow time, sets the scale, shift and
residual gate of both sub-layers. No positional information enters, so the field is
permutation-equivariant over the particles, exactly. Padded particles are replaced by
zeros on entry, excluded as attention keys and zeroed on exit: their values (NaN
included) never reach the real particles' velocities.

References:
    | Lee et al., Set Transformer (2019) https://arxiv.org/abs/1810.00825
    | Peebles, Xie, Scalable Diffusion Models with Transformers (2022)
    | https://arxiv.org/abs/2212.09748
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = ["SetTransformerVelocityField", "time_embedding"]


def time_embedding(t: Tensor, dim: int) -> Tensor:
    """Sinusoidal features of times in ``[0, 1]`` (frequencies ``1 .. 1000``).

    Shapes:
        t ``[B]`` -> ``[B, dim]`` (``dim`` even).

    Example:
        >>> time_embedding(torch.tensor([0.0, 0.5]), 8).shape
        torch.Size([2, 8])
    """
    half = dim // 2
    freqs = torch.exp(torch.linspace(0.0, math.log(1000.0), half, dtype=t.dtype, device=t.device))
    angle = t[:, None] * freqs[None, :] * math.pi
    return torch.cat([angle.sin(), angle.cos()], -1)


class _AdaLNBlock(nn.Module):
    """Self-attention and MLP sub-layers with condition-dependent norm and gates."""

    def __init__(self, width: int, heads: int, mlp_ratio: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False)
        self.norm2 = nn.LayerNorm(width, elementwise_affine=False)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.mlp = nn.Sequential(
            nn.Linear(width, mlp_ratio * width), nn.GELU(), nn.Linear(mlp_ratio * width, width)
        )
        self.modulation = nn.Linear(width, 6 * width)
        nn.init.normal_(self.modulation.weight, std=0.02)
        nn.init.zeros_(self.modulation.bias)

    def forward(self, h: Tensor, c: Tensor, attn_mask: Tensor) -> Tensor:
        b, p, w = h.shape
        shift1, scale1, gate1, shift2, scale2, gate2 = self.modulation(c)[:, None].chunk(6, -1)
        a = self.norm1(h) * (1 + scale1) + shift1
        q, k, v = self.qkv(a).view(b, p, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        h = h + (1 + gate1) * self.proj(a.transpose(1, 2).reshape(b, p, w))
        m = self.norm2(h) * (1 + scale2) + shift2
        out: Tensor = h + (1 + gate2) * self.mlp(m)
        return out


class SetTransformerVelocityField(nn.Module):
    """Permutation-equivariant velocity field ``v(x_t, t | condition)`` over a particle set.

    Arguments:
        features: Coordinates per particle ``D``.
        condition_dim: Size of the per-set condition vector (0 for none).
        width: Hidden size.
        layers: Transformer blocks.
        heads: Attention heads (``width`` must be divisible by it).
        mlp_ratio: Hidden size of the MLPs over ``width``.

    Shapes:
        x ``[B, P, D]``, t ``[B]``, condition ``[B, condition_dim]``, mask ``[B, P]``
        (``True`` = real particle) -> ``[B, P, D]`` (zero on padded particles).

    Example:
        >>> field = SetTransformerVelocityField(3, condition_dim=5, width=16, layers=1, heads=2)
        >>> x, mask = torch.randn(2, 4, 3), torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]]).bool()
        >>> field(x, torch.rand(2), torch.randn(2, 5), mask).shape
        torch.Size([2, 4, 3])
    """

    def __init__(
        self,
        features: int,
        condition_dim: int,
        width: int = 64,
        layers: int = 3,
        heads: int = 4,
        mlp_ratio: int = 2,
    ) -> None:
        super().__init__()
        if width % heads != 0 or width % 2 != 0:
            msg = f"width={width} must be even and divisible by heads={heads}"
            raise ValueError(msg)
        self.width = width
        self.embed = nn.Linear(features, width)
        self.condition = nn.Sequential(
            nn.Linear(condition_dim + width, width), nn.GELU(), nn.Linear(width, width), nn.GELU()
        )
        self.blocks = nn.ModuleList(_AdaLNBlock(width, heads, mlp_ratio) for _ in range(layers))
        self.norm = nn.LayerNorm(width, elementwise_affine=False)
        self.final_modulation = nn.Linear(width, 2 * width)
        self.out = nn.Linear(width, features)
        nn.init.normal_(self.out.weight, std=0.02)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: Tensor, t: Tensor, condition: Tensor, mask: Tensor) -> Tensor:
        keep = mask.to(torch.bool)[..., None]
        x = torch.where(keep, x, torch.zeros((), dtype=x.dtype, device=x.device))
        c = self.condition(torch.cat([condition, time_embedding(t.to(x.dtype), self.width)], -1))
        # keys of padded particles are excluded; a set with no real particle attends to all
        # (its outputs are zeroed anyway) so the softmax never sees only -inf
        key = mask.to(torch.bool) | ~mask.to(torch.bool).any(-1, keepdim=True)
        attn_mask = key[:, None, None, :]
        h = self.embed(x)
        for block in self.blocks:
            h = block(h, c, attn_mask)
        shift, scale = self.final_modulation(c)[:, None].chunk(2, -1)
        v = self.out(self.norm(h) * (1 + scale) + shift)
        return torch.where(keep, v, torch.zeros((), dtype=v.dtype, device=v.device))

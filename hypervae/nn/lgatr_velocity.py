r"""An L-GATr (slim) velocity field over particle 4-vectors, the Lorentz option.

Each particle's current point :math:`x_t = (\eta_\mathrm{rel}, \phi_\mathrm{rel},
\ln p_{T,\mathrm{rel}})` (de-standardised) becomes a massless 4-vector in the jet frame
(jet axis along :math:`x`); the four basis vectors of that frame are appended as
reference vector channels, and the condition (with the flow time) enters as scalar
channels of every particle together with the coordinates themselves. An
:class:`lgatr.LGATrSlim` maps these to three invariant scalar outputs per particle: the
velocity in the coordinates.

Symmetry, exactly: permutation-equivariant over the particles; the outputs are
Lorentz-*invariant* under transformations applied to the particle 4-vectors *and* the
reference basis together. The reference vectors fix the frame, so no symmetry of the
particles alone is kept beyond what the relative coordinates give (rotations about the
beam and longitudinal boosts of the whole jet).

References:
    | Spinner et al., Lorentz-Equivariant Geometric Algebra Transformers for High-Energy
    | Physics (2024) https://arxiv.org/abs/2405.14806
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .velocity_field import time_embedding

__all__ = ["LGATrVelocityField"]


class LGATrVelocityField(nn.Module):
    """L-GATr-slim velocity field ``v(x_t, t | condition)`` with the frame basis as references.

    Arguments:
        condition_dim: Size of the per-set condition vector.
        width: Scalar channels (hidden) and condition embedding size.
        layers: L-GATr blocks.
        vector_channels: Hidden 4-vector channels.
        heads: Attention heads.
        feature_mean, feature_std: Standardisation of ``(eta_rel, phi_rel, ln pt_rel)``
            undone to build the 4-vectors.

    Shapes:
        x ``[B, P, 3]`` (standardised), t ``[B]``, condition ``[B, condition_dim]``,
        mask ``[B, P]`` -> ``[B, P, 3]`` (zero on padded particles).

    Example:
        >>> field = LGATrVelocityField(5, width=8, layers=1, vector_channels=4, heads=2)
        >>> mask = torch.tensor([[1, 1, 0]]).bool()
        >>> field(torch.randn(1, 3, 3), torch.rand(1), torch.randn(1, 5), mask).shape
        torch.Size([1, 3, 3])
    """

    basis: Tensor
    mean: Tensor
    std: Tensor

    def __init__(
        self,
        condition_dim: int,
        width: int = 64,
        layers: int = 3,
        vector_channels: int = 16,
        heads: int = 4,
        feature_mean: Sequence[float] = (0.0, 0.0, -3.5),
        feature_std: Sequence[float] = (0.1, 0.1, 1.3),
    ) -> None:
        super().__init__()
        from lgatr import LGATrSlim

        self.width = width
        self.condition = nn.Sequential(
            nn.Linear(condition_dim + width, width), nn.GELU(), nn.Linear(width, width)
        )
        self.net = LGATrSlim(
            num_blocks=layers,
            in_v_channels=5,  # the particle and the frame's e_t, e_x, e_y, e_z
            out_v_channels=1,
            hidden_v_channels=vector_channels,
            in_s_channels=width + 3,
            out_s_channels=3,
            hidden_s_channels=width,
            num_heads=heads,
        )
        self.register_buffer("basis", torch.eye(4), persistent=False)
        self.register_buffer("mean", torch.tensor(list(feature_mean)), persistent=False)
        self.register_buffer("std", torch.tensor(list(feature_std)), persistent=False)

    def forward(self, x: Tensor, t: Tensor, condition: Tensor, mask: Tensor) -> Tensor:
        keep = mask.to(torch.bool)[..., None]
        zero = torch.zeros((), dtype=x.dtype, device=x.device)
        x = torch.where(keep, x, zero)
        b, p, _ = x.shape
        phys = x * self.std.to(x.dtype) + self.mean.to(x.dtype)
        eta, phi = phys[..., 0], phys[..., 1]
        pt = torch.where(keep[..., 0], phys[..., 2].clamp(max=2.0).exp(), zero)
        # jet axis along +x: (E, px, py, pz) of a massless particle at (eta, phi) about it
        p4 = torch.stack([pt * eta.cosh(), pt * phi.cos(), pt * phi.sin(), pt * eta.sinh()], -1)
        ref = self.basis.to(x.dtype).expand(b, p, 4, 4)
        vectors = torch.cat([p4[:, :, None, :], ref], 2)
        c = self.condition(torch.cat([condition, time_embedding(t.to(x.dtype), self.width)], -1))
        scalars = torch.cat([c[:, None, :].expand(b, p, -1), x], -1)
        key = mask.to(torch.bool) | ~mask.to(torch.bool).any(-1, keepdim=True)
        _, v = self.net(vectors, scalars, attn_mask=key[:, None, None, :])
        return torch.where(keep, v, zero)

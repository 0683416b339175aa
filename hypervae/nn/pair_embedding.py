r"""Pair embedding of the Particle Transformer: pairwise features to one attention bias per head.

For every pair of real particles the features :math:`(\ln\Delta, \ln k_T, \ln z,
\ln m^2)` of :func:`hypervae.physics.pairwise_features_torch` are mapped to O(1) by a
fixed affine map (:data:`PAIR_STANDARDISATION`), then by a learnable per-feature affine,
an MLP with GELU and a linear map to one value per head: the additive bias ``U`` of
:class:`~hypervae.nn.MultiHeadAttention`. Padded pairs get zero.

Example:
    >>> import torch
    >>> embed = PairEmbedding((8,), heads=2)
    >>> p4 = torch.tensor([[[50.0, 30, 0, 40], [20.0, 0, 20, 1]]], dtype=torch.float64)
    >>> embed(p4, torch.tensor([[True, True]])).shape
    torch.Size([1, 2, 2, 2])
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor, nn

from ..physics.pairwise import pairwise_features_torch

__all__ = ["PAIR_STANDARDISATION", "PairEmbedding"]

#: ``(shift, scale)`` mapping ``(ln_dr, ln_kt, ln_z, ln_m2)`` of GeV-scale jets to O(1).
PAIR_STANDARDISATION = ((-2.5, 1.0), (0.0, 0.5), (-2.0, 1.0), (1.5, 0.35))


class PairEmbedding(nn.Module):
    """Pairwise features to one additive attention bias per head.

    Arguments:
        hidden: Hidden widths of the MLP (at least one).
        heads: Number of attention heads ``H``.

    Shapes:
        p4: ``[B, P, 4]`` ``(E, px, py, pz)``; mask: ``[B, P]``; output ``[B, H, P, P]``
        (zero on padded pairs).
    """

    shift: Tensor
    scale: Tensor

    def __init__(self, hidden: tuple[int, ...], heads: int) -> None:
        super().__init__()
        if not hidden:
            msg = "hidden: need at least one hidden width"
            raise ValueError(msg)
        shift, scale = zip(*PAIR_STANDARDISATION, strict=True)
        self.register_buffer("shift", torch.tensor(shift), persistent=False)
        self.register_buffer("scale", torch.tensor(scale), persistent=False)
        self.affine = nn.Parameter(torch.tensor([[1.0] * 4, [0.0] * 4]))
        layers: list[nn.Module] = []
        for d_in, d_out in itertools.pairwise([4, *hidden]):
            layers += [nn.Linear(d_in, d_out), nn.GELU()]
        self.mlp = nn.Sequential(*layers)
        self.head = nn.Linear(hidden[-1], heads)

    def forward(self, p4: Tensor, mask: Tensor) -> Tensor:
        with torch.autocast(p4.device.type, enabled=False):
            feats, _ = pairwise_features_torch(p4, mask)
            feats = (feats.float() - self.shift) * self.scale
        feats = feats * self.affine[0] + self.affine[1]
        bias = self.head(self.mlp(feats)).permute(0, 3, 1, 2)
        pair = (mask[:, :, None] & mask[:, None, :])[:, None]
        return torch.where(pair, bias, torch.zeros_like(bias))

"""Sequence pooling: merge each run of ``stride`` consecutive tokens (masked mean).

Used between the stages of a hierarchical tagger: the sequence (and the tokens'
coordinates) shrink by ``stride`` and the width changes. Padded tokens do not contribute
to a group's mean; a group with no real token is padding.

Example:
    >>> import torch
    >>> pool = SequencePool(4, 8, stride=2)
    >>> x, coords, mask = pool(torch.randn(1, 5, 4), torch.zeros(1, 5, 2),
    ...                        torch.ones(1, 5, dtype=torch.bool))
    >>> x.shape, coords.shape, mask.tolist()
    (torch.Size([1, 3, 8]), torch.Size([1, 3, 2]), [[True, True, True]])
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .masked import masked_mean
from .patch_attention import pad_to_multiple

__all__ = ["SequencePool"]


class SequencePool(nn.Module):
    """``LayerNorm`` and ``Linear(dim_in, dim_out)``, then masked means of token groups.

    Arguments:
        dim_in: Input width.
        dim_out: Output width.
        stride: Tokens per group (``>= 1``).

    Shapes:
        x: ``[B, N, dim_in]``; coords: ``[B, N, D]``; mask: ``[B, N]``; outputs
        ``[B, ceil(N / stride), dim_out]``, ``[B, ceil(N / stride), D]`` and
        ``[B, ceil(N / stride)]``.
    """

    def __init__(self, dim_in: int, dim_out: int, stride: int = 2) -> None:
        super().__init__()
        if stride < 1:
            msg = f"stride must be >= 1, got {stride}"
            raise ValueError(msg)
        self.stride = int(stride)
        self.norm = nn.LayerNorm(dim_in)
        self.proj = nn.Linear(dim_in, dim_out)

    def forward(self, x: Tensor, coords: Tensor, mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        s = self.stride
        mask = mask.bool()
        x = self.proj(self.norm(x))
        x, _ = pad_to_multiple(x, mask, s)
        coords, mask = pad_to_multiple(coords, mask, s)
        b, p, _ = x.shape
        m = mask.reshape(b * p // s, s)
        x = masked_mean(x.reshape(b * p // s, s, -1), m).reshape(b, p // s, -1)
        coords = masked_mean(coords.reshape(b * p // s, s, -1), m).reshape(b, p // s, -1)
        mask = m.any(dim=1).reshape(b, p // s)
        return torch.where(mask[..., None], x, torch.zeros_like(x)), coords, mask

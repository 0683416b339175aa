"""The transformer feed-forward layer of the taggers (ParT's normalised variant).

Example:
    >>> import torch
    >>> FeedForward(8, 16)(torch.zeros(2, 3, 8)).shape
    torch.Size([2, 3, 8])
"""

from __future__ import annotations

from torch import nn

__all__ = ["FeedForward"]


class FeedForward(nn.Sequential):
    """``LayerNorm, Linear(C, hidden), GELU, LayerNorm, Dropout, Linear(hidden, C)``.

    Arguments:
        dim: Token width ``C``.
        hidden: Hidden width.
        dropout: Dropout before the last linear map.

    Shapes:
        input ``[..., C]``; output ``[..., C]`` (acts on each token alone).
    """

    def __init__(self, dim: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__(
            nn.LayerNorm(dim),
            nn.Linear(dim, hidden),
            nn.GELU(),
            nn.LayerNorm(hidden),
            nn.Dropout(dropout),
            nn.Linear(hidden, dim),
        )

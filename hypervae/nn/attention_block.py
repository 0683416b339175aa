"""Pre-norm self-attention block (ParT layout) that ignores padded tokens exactly.

Example:
    >>> import torch
    >>> block = AttentionBlock(8, 2, 16)
    >>> block(torch.randn(2, 4, 8), torch.ones(2, 4, dtype=torch.bool)).shape
    torch.Size([2, 4, 8])
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .attention import MultiHeadAttention
from .feedforward import FeedForward

__all__ = ["AttentionBlock"]


class AttentionBlock(nn.Module):
    """Pre-norm self-attention block with an extra post-attention LayerNorm (as in ParT).

    ``x <- x + LN(MHA(LN(x)))``, then ``x <- x + FFN(x)``; padded tokens are zeroed.

    Arguments:
        dim: Token width ``C``.
        heads: Attention heads.
        mlp_dim: Hidden width of the feed-forward layer.
        dropout: Dropout probability.

    Shapes:
        x: ``[B, N, C]``; mask: ``[B, N]``; bias: ``[B, H, N, N]`` or ``None``;
        output ``[B, N, C]``.
    """

    def __init__(self, dim: int, heads: int, mlp_dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.attn = MultiHeadAttention(dim, heads, dropout)
        self.post_norm = nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)
        self.ffn = FeedForward(dim, mlp_dim, dropout)

    def forward(self, x: Tensor, mask: Tensor, bias: Tensor | None = None) -> Tensor:
        h = self.norm(x)
        x = x + self.drop(self.post_norm(self.attn(h, h, mask, bias)))
        x = x + self.drop(self.ffn(x))
        return torch.where(mask.unsqueeze(-1), x, torch.zeros_like(x))

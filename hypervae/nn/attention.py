"""Multi-head attention with a key padding mask and an optional additive pair bias.

With a bias ``U`` of shape ``[B, H, Q, K]`` the weights are
``softmax(Q K^T / sqrt(d) + U)`` per head: the pair-bias attention of the Particle
Transformer (``U`` embeds pairwise features). Padded keys get ``-inf`` and never
contribute.

Example:
    >>> import torch
    >>> attn = MultiHeadAttention(8, 2)
    >>> x = torch.randn(3, 5, 8)
    >>> attn(x, x, torch.ones(3, 5, dtype=torch.bool)).shape
    torch.Size([3, 5, 8])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["MultiHeadAttention"]


class MultiHeadAttention(nn.Module):
    """Multi-head (pair-bias) attention with a key padding mask.

    Arguments:
        dim: Token width ``C`` (divisible by ``heads``).
        heads: Number of heads ``H``.
        dropout: Dropout on the attention weights (training only).

    Shapes:
        query: ``[B, Q, C]``; key_value: ``[B, K, C]``; key_mask: ``[B, K]`` (at least one
        ``True`` per row); bias: ``[B, H, Q, K]`` or ``None``; output ``[B, Q, C]``.
    """

    def __init__(self, dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            msg = f"dim={dim} must be divisible by heads={heads}"
            raise ValueError(msg)
        self.heads = heads
        self.dropout = dropout
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(
        self, query: Tensor, key_value: Tensor, key_mask: Tensor, bias: Tensor | None = None
    ) -> Tensor:
        b, nq, c = query.shape
        nk = key_value.shape[1]
        h = self.heads
        q = self.q(query).view(b, nq, h, c // h).transpose(1, 2)
        k, v = self.kv(key_value).view(b, nk, 2, h, c // h).permute(2, 0, 3, 1, 4)
        blocked = torch.zeros(key_mask.shape, dtype=q.dtype, device=q.device)
        blocked = blocked.masked_fill(~key_mask, float("-inf"))[:, None, None, :]
        attn_mask = blocked if bias is None else bias.to(q.dtype) + blocked
        drop = self.dropout if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=drop)
        result: Tensor = self.out(out.transpose(1, 2).reshape(b, nq, c))
        return result

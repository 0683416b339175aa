"""Masked transformer building blocks shared by the taggers.

Every block takes a boolean ``mask`` (``True`` = real token) and ignores padded tokens
exactly: they are excluded as attention keys, excluded from pooling, and their outputs are
set to zero, so changing or appending padding leaves real outputs unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["AttentionBlock", "ClassAttentionBlock", "MultiHeadAttention", "Tagger", "masked_mean"]


def masked_mean(x: Tensor, mask: Tensor, dim: int = 1) -> Tensor:
    """Mean over the real entries of ``x`` along ``dim`` (zero where none is real).

    Shapes:
        x: ``[B, N, C]``; mask: ``[B, N]``; output ``[B, C]`` (for ``dim=1``).

    Examples:
        >>> x = torch.tensor([[[1.0], [3.0], [100.0]]])
        >>> masked_mean(x, torch.tensor([[True, True, False]])).tolist()
        [[2.0]]
    """
    m = mask.to(x.dtype).unsqueeze(-1)
    total = torch.where(mask.unsqueeze(-1), x, torch.zeros_like(x)).sum(dim)
    return total / m.sum(dim).clamp(min=1.0)


class MultiHeadAttention(nn.Module):
    """Multi-head attention with a key padding mask and an optional additive bias.

    Arguments:
        dim: Token width ``C`` (divisible by ``heads``).
        heads: Number of heads ``H``.
        dropout: Dropout on the attention weights (training only).

    Shapes:
        query: ``[B, Q, C]``; key_value: ``[B, K, C]``; key_mask: ``[B, K]`` (at least one
        ``True`` per row); bias: ``[B, H, Q, K]`` or ``None``; output ``[B, Q, C]``.

    Examples:
        >>> attn = MultiHeadAttention(8, 2)
        >>> x = torch.randn(3, 5, 8)
        >>> attn(x, x, torch.ones(3, 5, dtype=torch.bool)).shape
        torch.Size([3, 5, 8])
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


class _FeedForward(nn.Sequential):
    def __init__(self, dim: int, hidden: int, dropout: float) -> None:
        super().__init__(
            nn.LayerNorm(dim),
            nn.Linear(dim, hidden),
            nn.GELU(),
            nn.LayerNorm(hidden),
            nn.Dropout(dropout),
            nn.Linear(hidden, dim),
        )


class AttentionBlock(nn.Module):
    """Pre-norm self-attention block with an extra post-attention LayerNorm (as in ParT).

    ``x <- x + LN(MHA(LN(x)))``, then ``x <- x + FFN(x)`` with
    ``FFN = LN, Linear, GELU, LN, Dropout, Linear``; padded tokens are zeroed.

    Shapes:
        x: ``[B, N, C]``; mask: ``[B, N]``; bias: ``[B, H, N, N]`` or ``None``;
        output ``[B, N, C]``.

    Examples:
        >>> block = AttentionBlock(8, 2, 16)
        >>> block(torch.randn(2, 4, 8), torch.ones(2, 4, dtype=torch.bool)).shape
        torch.Size([2, 4, 8])
    """

    def __init__(self, dim: int, heads: int, mlp_dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.attn = MultiHeadAttention(dim, heads, dropout)
        self.post_norm = nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)
        self.ffn = _FeedForward(dim, mlp_dim, dropout)

    def forward(self, x: Tensor, mask: Tensor, bias: Tensor | None = None) -> Tensor:
        h = self.norm(x)
        x = x + self.drop(self.post_norm(self.attn(h, h, mask, bias)))
        x = x + self.drop(self.ffn(x))
        return torch.where(mask.unsqueeze(-1), x, torch.zeros_like(x))


class ClassAttentionBlock(AttentionBlock):
    """Class-attention block: a class token attends to itself and the real tokens.

    Shapes:
        cls: ``[B, 1, C]``; x: ``[B, N, C]``; mask: ``[B, N]``; output ``[B, 1, C]``.

    Examples:
        >>> block = ClassAttentionBlock(8, 2, 16)
        >>> cls = torch.zeros(2, 1, 8)
        >>> block(cls, torch.randn(2, 4, 8), torch.ones(2, 4, dtype=torch.bool)).shape
        torch.Size([2, 1, 8])
    """

    def forward(self, cls: Tensor, x: Tensor, mask: Tensor) -> Tensor:  # type: ignore[override]
        keys = self.norm(torch.cat([cls, x], dim=1))
        key_mask = torch.cat([torch.ones_like(mask[:, :1]), mask], dim=1)
        cls = cls + self.drop(self.post_norm(self.attn(keys[:, :1], keys, key_mask)))
        result: Tensor = cls + self.drop(self.ffn(cls))
        return result


class Tagger(nn.Module):
    """Base of the jet classifiers: ``forward(p4, mask, extra)`` returns class logits."""

    @torch.no_grad()
    def predict_proba(self, p4: Tensor, mask: Tensor, extra: Tensor | None = None) -> Tensor:
        """Softmax over classes of :meth:`forward` (no gradient).

        Shapes:
            output ``[B, num_classes]``, rows summing to one.
        """
        return torch.softmax(self(p4, mask, extra), dim=-1)

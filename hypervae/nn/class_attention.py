"""Class-attention block: a class token reads the real tokens (CaiT / ParT readout).

Example:
    >>> import torch
    >>> block = ClassAttentionBlock(8, 2, 16)
    >>> cls = torch.zeros(2, 1, 8)
    >>> block(cls, torch.randn(2, 4, 8), torch.ones(2, 4, dtype=torch.bool)).shape
    torch.Size([2, 1, 8])
"""

from __future__ import annotations

import torch
from torch import Tensor

from .attention_block import AttentionBlock

__all__ = ["ClassAttentionBlock"]


class ClassAttentionBlock(AttentionBlock):
    """A class token attends to itself and the real tokens; the tokens are not updated.

    Arguments:
        dim, heads, mlp_dim, dropout: As for :class:`AttentionBlock`.

    Shapes:
        cls: ``[B, 1, C]``; x: ``[B, N, C]``; mask: ``[B, N]``; output ``[B, 1, C]``.
    """

    def forward(self, cls: Tensor, x: Tensor, mask: Tensor) -> Tensor:  # type: ignore[override]
        keys = self.norm(torch.cat([cls, x], dim=1))
        key_mask = torch.cat([torch.ones_like(mask[:, :1]), mask], dim=1)
        cls = cls + self.drop(self.post_norm(self.attn(keys[:, :1], keys, key_mask)))
        result: Tensor = cls + self.drop(self.ffn(cls))
        return result

"""Hierarchical patch attention: exact attention inside patches, then among patch tokens.

The (ordered) particle sequence is cut into consecutive patches of ``S`` particles.
Inside every patch, real particles attend exactly to the real particles of the same
patch (cost ``P S``); each patch is summarised by the masked mean of its particles, the
patch tokens attend to each other (cost ``(P/S)^2``), and the result is broadcast back
to the particles of the patch. For fixed ``S`` and ``P/S <= S`` the cost grows linearly
with ``P``. Patches without a real particle are ignored exactly.

Example:
    >>> import torch
    >>> attn = PatchAttention(8, 2, patch_size=4)
    >>> attn(torch.randn(2, 10, 8), torch.ones(2, 10, dtype=torch.bool)).shape
    torch.Size([2, 10, 8])
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .attention import MultiHeadAttention
from .masked import masked_mean

__all__ = ["PatchAttention", "pad_to_multiple"]


def pad_to_multiple(x: Tensor, mask: Tensor, multiple: int) -> tuple[Tensor, Tensor]:
    """Appends padding so that the particle axis is a multiple of ``multiple``.

    Shapes:
        x: ``[B, P, ...]``; mask: ``[B, P]``; outputs ``[B, P', ...]`` and ``[B, P']``.

    Examples:
        >>> x, m = pad_to_multiple(torch.ones(1, 3, 2), torch.ones(1, 3, dtype=torch.bool), 4)
        >>> x.shape, m.tolist()
        (torch.Size([1, 4, 2]), [[True, True, True, False]])
    """
    extra = (-x.shape[1]) % multiple
    if not extra:
        return x, mask
    x = torch.cat([x, x.new_zeros(x.shape[0], extra, *x.shape[2:])], dim=1)
    mask = torch.cat([mask, mask.new_zeros(mask.shape[0], extra)], dim=1)
    return x, mask


class PatchAttention(nn.Module):
    """Local attention within patches plus global attention among patch tokens.

    Returns the update (to be added to the residual stream by the caller).

    Arguments:
        dim: Token width.
        heads: Attention heads.
        patch_size: Particles per patch ``S``.
        dropout: Attention dropout.

    Shapes:
        x: ``[B, P, C]`` (any ``P``; padded internally to a multiple of ``S``);
        mask: ``[B, P]``; output ``[B, P, C]`` (zero on padded particles).
    """

    def __init__(self, dim: int, heads: int, patch_size: int = 16, dropout: float = 0.0):
        super().__init__()
        if patch_size < 1:
            msg = f"patch_size must be >= 1, got {patch_size}"
            raise ValueError(msg)
        self.patch_size = int(patch_size)
        self.local = MultiHeadAttention(dim, heads, dropout)
        self.global_norm = nn.LayerNorm(dim)
        self.glob = MultiHeadAttention(dim, heads, dropout)
        self.broadcast = nn.Linear(dim, dim)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        b, p, c = x.shape
        s = self.patch_size
        mask = mask.bool()
        x, padded_mask = pad_to_multiple(x, mask, s)
        n_patch = x.shape[1] // s
        xs = x.reshape(b * n_patch, s, c)
        ms = padded_mask.reshape(b * n_patch, s)
        has_real = ms.any(dim=1)
        # empty patches get one dummy key so that softmax stays finite; outputs are dropped
        keys = ms.clone()
        keys[:, 0] |= ~has_real
        local = self.local(xs, xs, keys).reshape(b, n_patch * s, c)
        tokens = masked_mean(xs, ms).reshape(b, n_patch, c)
        token_mask = has_real.reshape(b, n_patch)
        tokens = self.global_norm(tokens)
        glob = self.broadcast(self.glob(tokens, tokens, token_mask))
        out = local + glob.repeat_interleave(s, dim=1)
        out = out[:, :p]
        return torch.where(mask[..., None], out, torch.zeros_like(out))

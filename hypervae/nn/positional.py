"""Conditional positional encoding: a depthwise 1D convolution over an ordered sequence.

Once particles are sorted (by kT, pT, eta or Morton code), neighbours in the sequence
are neighbours in that key; a depthwise convolution over the sequence gives each token a
position-dependent signal computed from its neighbours' features (as in CPVT's
conditional positional encodings), with no table of positions, so any sequence length
works. Padded tokens are zeroed before the convolution and in the output: they neither
contribute nor receive anything, as long as the real tokens come first.

Example:
    >>> import torch
    >>> cpe = ConditionalPositionalEncoding(4, kernel_size=3)
    >>> cpe(torch.randn(2, 6, 4), torch.ones(2, 6, dtype=torch.bool)).shape
    torch.Size([2, 6, 4])
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["ConditionalPositionalEncoding"]


class ConditionalPositionalEncoding(nn.Module):
    """Depthwise ``Conv1d`` (zero padding, one filter per channel) over the token axis.

    Returns the encoding (the caller adds it to the residual stream).

    Arguments:
        dim: Token width ``C``.
        kernel_size: Odd kernel size.

    Shapes:
        x: ``[B, N, C]``; mask: ``[B, N]`` (real tokens first); output ``[B, N, C]``
        (zero on padded tokens).
    """

    def __init__(self, dim: int, kernel_size: int = 3) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 != 1:
            msg = f"kernel_size must be a positive odd number, got {kernel_size}"
            raise ValueError(msg)
        self.conv = nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        keep = mask.bool()[..., None]
        x = torch.where(keep, x, torch.zeros_like(x))
        out: Tensor = self.conv(x.transpose(1, 2)).transpose(1, 2)
        return torch.where(keep, out, torch.zeros_like(out))

"""Masked reductions over a padded particle axis: mean and max over the real entries.

Example:
    >>> import torch
    >>> x = torch.tensor([[[1.0], [3.0], [100.0]]])
    >>> mask = torch.tensor([[True, True, False]])
    >>> masked_mean(x, mask).tolist(), masked_max(x, mask).tolist()
    ([[2.0]], [[3.0]])
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

__all__ = ["masked_max", "masked_mean", "masked_pool"]


def masked_mean(x: Tensor, mask: Tensor, dim: int = 1) -> Tensor:
    """Mean over the real entries of ``x`` along ``dim`` (zero where none is real).

    Shapes:
        x: ``[B, N, C]``; mask: ``[B, N]``; output ``[B, C]`` (for ``dim=1``).
    """
    m = mask.to(x.dtype).unsqueeze(-1)
    total = torch.where(mask.unsqueeze(-1), x, torch.zeros_like(x)).sum(dim)
    return total / m.sum(dim).clamp(min=1.0)


def masked_max(x: Tensor, mask: Tensor, dim: int = 1) -> Tensor:
    """Maximum over the real entries of ``x`` along ``dim`` (zero where none is real).

    Padded entries never win, whatever they hold (NaN included).

    Shapes:
        x: ``[B, N, C]``; mask: ``[B, N]``; output ``[B, C]`` (for ``dim=1``).
    """
    keep = mask.unsqueeze(-1)
    low = torch.full_like(x, float("-inf"))
    best = torch.where(keep, x, low).amax(dim)
    any_real = keep.any(dim)
    return torch.where(any_real, best, torch.zeros_like(best))


def masked_pool(x: Tensor, mask: Tensor, how: Literal["mean", "max"], dim: int = 1) -> Tensor:
    """:func:`masked_mean` or :func:`masked_max` by name.

    Shapes:
        x: ``[B, N, C]``; mask: ``[B, N]``; output ``[B, C]`` (for ``dim=1``).
    """
    if how not in ("mean", "max"):
        msg = f"how: expected 'mean' or 'max', got {how!r}"
        raise ValueError(msg)
    return masked_mean(x, mask, dim) if how == "mean" else masked_max(x, mask, dim)

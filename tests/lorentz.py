"""Random proper orthochronous Lorentz transformations for equivariance tests."""

from __future__ import annotations

import torch


def random_lorentz(generator: torch.Generator, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """A general boost (random direction, rapidity ~ N(0, 1)) times a random rotation."""
    axis = torch.randn(3, generator=generator, dtype=dtype)
    axis = axis / axis.norm()
    rapidity = torch.randn((), generator=generator, dtype=dtype)
    g, bg = torch.cosh(rapidity), torch.sinh(rapidity)
    boost = torch.eye(4, dtype=dtype)
    boost[0, 0] = g
    boost[0, 1:] = boost[1:, 0] = bg * axis
    boost[1:, 1:] += (g - 1) * torch.outer(axis, axis)
    q, r = torch.linalg.qr(torch.randn(3, 3, generator=generator, dtype=dtype))
    q = q * torch.sign(torch.diagonal(r))
    if torch.det(q) < 0:
        q[:, 0] = -q[:, 0]
    rot = torch.eye(4, dtype=dtype)
    rot[1:, 1:] = q
    return boost @ rot


def metric() -> torch.Tensor:
    return torch.diag(torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=torch.float64))

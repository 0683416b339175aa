r"""Geometric message passing (GMP): particles talk through a coarse :math:`(\eta, \phi)` grid.

Each real particle is quantised to a cell of a ``G x G`` grid spanning
``[-extent, extent]^2`` in jet-relative :math:`(\Delta\eta, \Delta\phi)` (outside
particles go to the border cell); the features of the particles in each cell are
averaged (scatter), the grid is convolved with a depthwise 2D kernel (one filter per
channel), and each particle reads back the value of its own cell (gather), followed by a
pointwise linear map. Cost is linear in the number of particles plus ``G^2 C``. Padded
particles neither contribute nor receive anything (their outputs are zero).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["GeometricMessagePassing", "cell_index"]


def cell_index(coords: Tensor, grid_size: int, extent: float) -> Tensor:
    r"""Flat cell index ``i_eta * G + i_phi`` of each particle.

    Shapes:
        coords: ``[B, P, 2]`` (:math:`\Delta\eta, \Delta\phi`); output ``[B, P]`` int64
        in ``[0, G^2)``.

    Examples:
        >>> cell_index(torch.tensor([[[-0.79, 0.79], [0.0, 0.0], [5.0, -5.0]]]), 4, 0.8)
        tensor([[ 3, 10, 12]])
    """
    width = 2.0 * extent / grid_size
    ij = torch.floor((coords.detach() + extent) / width).long().clamp(0, grid_size - 1)
    return ij[..., 0] * grid_size + ij[..., 1]


class GeometricMessagePassing(nn.Module):
    """Scatter to an (eta, phi) grid, depthwise 2D convolution, gather back.

    Arguments:
        dim: Feature width ``C``.
        grid_size: Cells per axis ``G``.
        extent: Half-width of the grid in jet-relative eta and phi.
        kernel_size: Odd size of the depthwise kernel.

    Shapes:
        x: ``[B, P, C]``; coords: ``[B, P, 2]``; mask: ``[B, P]``; output ``[B, P, C]``.

    Examples:
        >>> gmp = GeometricMessagePassing(4, grid_size=8)
        >>> x, coords = torch.randn(2, 5, 4), 0.3 * torch.randn(2, 5, 2)
        >>> gmp(x, coords, torch.ones(2, 5, dtype=torch.bool)).shape
        torch.Size([2, 5, 4])
    """

    def __init__(self, dim: int, grid_size: int = 16, extent: float = 0.8, kernel_size: int = 3):
        super().__init__()
        if kernel_size % 2 != 1:
            msg = f"kernel_size must be odd, got {kernel_size}"
            raise ValueError(msg)
        self.grid_size = int(grid_size)
        self.extent = float(extent)
        self.conv = nn.Conv2d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, coords: Tensor, mask: Tensor) -> Tensor:
        b, _, c = x.shape
        g = self.grid_size
        mask = mask.bool()
        idx = cell_index(coords, g, self.extent)
        idx = torch.where(mask, idx, torch.zeros_like(idx))
        x = torch.where(mask[..., None], x, torch.zeros_like(x))
        sums = x.new_zeros(b, g * g, c).scatter_add(1, idx[..., None].expand(-1, -1, c), x)
        counts = x.new_zeros(b, g * g).scatter_add(1, idx, mask.to(x.dtype))
        grid = sums / counts.clamp(min=1.0)[..., None]
        grid = self.conv(grid.transpose(1, 2).reshape(b, c, g, g))
        grid = grid.reshape(b, c, g * g).transpose(1, 2)
        out = self.proj(grid.gather(1, idx[..., None].expand(-1, -1, c)))
        return torch.where(mask[..., None], out, torch.zeros_like(out))

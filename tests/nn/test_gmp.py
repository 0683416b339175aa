from __future__ import annotations

import pytest
import torch

from hypervae.nn import GeometricMessagePassing, cell_index


def _transparent(dim: int, grid: int, kernel_offset: tuple[int, int] = (0, 0)):
    """GMP whose conv moves each cell by ``kernel_offset`` and whose projection is identity."""
    gmp = GeometricMessagePassing(dim, grid_size=grid, extent=1.0, kernel_size=3)
    with torch.no_grad():
        gmp.conv.weight.zero_()
        gmp.conv.weight[:, 0, 1 + kernel_offset[0], 1 + kernel_offset[1]] = 1.0
        gmp.conv.bias.zero_()
        gmp.proj.weight.copy_(torch.eye(dim))
        gmp.proj.bias.zero_()
    return gmp


def test_cell_index():
    coords = torch.tensor([[[-0.99, -0.99], [-0.99, 0.99], [0.99, -0.99], [0.1, 0.1], [9.0, 9.0]]])
    assert cell_index(coords, 4, 1.0).tolist() == [[0, 3, 12, 10, 15]]


def test_gathers_cell_means_back_to_their_particles():
    # particles 0 and 1 share a cell, 2 is alone, 3 is padding placed in 2's cell
    coords = torch.tensor([[[0.1, 0.1], [0.2, 0.15], [-0.6, 0.7], [-0.6, 0.7]]])
    x = torch.tensor([[[1.0, 2.0], [3.0, 6.0], [-5.0, 7.0], [100.0, float("nan")]]])
    mask = torch.tensor([[True, True, True, False]])
    out = _transparent(2, 4)(x, coords, mask)
    torch.testing.assert_close(out[0, 0], torch.tensor([2.0, 4.0]))
    torch.testing.assert_close(out[0, 1], torch.tensor([2.0, 4.0]))
    torch.testing.assert_close(out[0, 2], torch.tensor([-5.0, 7.0]))
    assert torch.all(out[0, 3] == 0)


def test_convolution_moves_messages_between_neighbouring_cells():
    # kernel tap at (+1, 0): a particle reads the cell one step higher in eta
    coords = torch.tensor([[[-0.4, 0.1], [0.1, 0.1], [0.1, 0.6]]])  # cells (1,2), (2,2), (2,3)
    x = torch.tensor([[[1.0], [10.0], [100.0]]])
    mask = torch.ones(1, 3, dtype=torch.bool)
    out = _transparent(1, 4, kernel_offset=(1, 0))(x, coords, mask)
    assert out[0, :, 0].tolist() == [10.0, 0.0, 0.0]


def test_batches_are_independent_and_order_equivariant():
    torch.manual_seed(0)
    gmp = GeometricMessagePassing(4, grid_size=8)
    x, coords = torch.randn(2, 6, 4), 0.5 * torch.randn(2, 6, 2)
    mask = torch.ones(2, 6, dtype=torch.bool)
    out = gmp(x, coords, mask)
    perm = torch.randperm(6)
    torch.testing.assert_close(gmp(x[:, perm], coords[:, perm], mask[:, perm]), out[:, perm])
    x2 = x.clone()
    x2[1] += 1.0
    torch.testing.assert_close(gmp(x2, coords, mask)[0], out[0])


def test_even_kernel_rejected():
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        GeometricMessagePassing(4, kernel_size=2)

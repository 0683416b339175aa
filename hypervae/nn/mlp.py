"""Residual MLP used on edge and hyperedge features (O(K) memory, no attention)."""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["ResidualMLP"]


class ResidualMLP(nn.Module):
    """Linear embedding followed by pre-norm residual blocks.

    Arguments:
        in_channels: Input features.
        hidden_channels: Width of the embedding and of every block's output.
        num_blocks: Residual blocks ``h + W2 act(W1 norm(h))``.
        dropout: Dropout inside blocks.

    Shapes:
        input ``[..., in_channels]``; output ``[..., hidden_channels]``.

    Examples:
        >>> import torch
        >>> ResidualMLP(5, 16)(torch.zeros(7, 5)).shape
        torch.Size([7, 16])
    """

    def __init__(
        self, in_channels: int, hidden_channels: int, num_blocks: int = 2, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.embed = nn.Linear(in_channels, hidden_channels)
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.LayerNorm(hidden_channels),
                nn.Linear(hidden_channels, 2 * hidden_channels),
                nn.GELU(),
                nn.Dropout(dropout),
                nn.Linear(2 * hidden_channels, hidden_channels),
            )
            for _ in range(num_blocks)
        )

    def forward(self, x: Tensor) -> Tensor:
        h: Tensor = self.embed(x)
        for block in self.blocks:
            h = h + block(h)
        return h

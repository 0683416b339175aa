"""Re-export of :mod:`hypervae.nn.gmp` (the block moved there)."""

from ..nn.gmp import GeometricMessagePassing, cell_index

__all__ = ["GeometricMessagePassing", "cell_index"]

"""Re-export of :mod:`hypervae.nn.patch_attention` (the block moved there)."""

from ..nn.patch_attention import PatchAttention, pad_to_multiple

__all__ = ["PatchAttention", "pad_to_multiple"]

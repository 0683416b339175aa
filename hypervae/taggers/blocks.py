"""The taggers' base class; the attention blocks now live in :mod:`hypervae.nn`.

``AttentionBlock``, ``ClassAttentionBlock``, ``MultiHeadAttention`` and ``masked_mean``
are re-exported here for code that imported them from this module.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..nn.attention import MultiHeadAttention
from ..nn.attention_block import AttentionBlock
from ..nn.class_attention import ClassAttentionBlock
from ..nn.feedforward import FeedForward as _FeedForward
from ..nn.masked import masked_mean

__all__ = ["AttentionBlock", "ClassAttentionBlock", "MultiHeadAttention", "Tagger", "masked_mean"]

_ = _FeedForward  # kept importable under its old private name


class Tagger(nn.Module):
    """Base of the jet classifiers: ``forward(p4, mask, extra)`` returns class logits."""

    @torch.no_grad()
    def predict_proba(self, p4: Tensor, mask: Tensor, extra: Tensor | None = None) -> Tensor:
        """Softmax over classes of :meth:`forward` (no gradient).

        Shapes:
            output ``[B, num_classes]``, rows summing to one.
        """
        return torch.softmax(self(p4, mask, extra), dim=-1)

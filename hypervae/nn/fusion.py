r"""Cross-attention from particles to their incident edges and hyperedges.

Each particle :math:`i` attends to the set :math:`\mathcal{N}(i)` of edge and hyperedge
embeddings incident to it, with a softmax over those keys only:

.. math::

    h_i' = h_i + W_o \sum_{e \in \mathcal{N}(i)} \operatorname{softmax}_e
    \left(\frac{q_i \cdot k_e}{\sqrt{d}}\right) v_e .

Scores, softmax and the weighted sum are scatter operations over the incidence lists
(``torch_geometric.utils.softmax`` and ``index_add``), so memory is O(M + K) in the
number of incidences, never O(n^2) or O(n K).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.utils import softmax

__all__ = ["IncidenceCrossAttention"]


class IncidenceCrossAttention(nn.Module):
    """Multi-head cross-attention of particles over incident edge/hyperedge tokens.

    Arguments:
        channels: Particle and token width.
        num_heads: Attention heads (``channels`` must be divisible by it).

    Shapes:
        h: ``[n, channels]`` particle embeddings; tokens: ``[T, channels]``;
        incidence: ``[2, I]`` pairs (particle index, token index); output ``[n, channels]``.
        A particle with no incident token is left unchanged.

    Examples:
        >>> att = IncidenceCrossAttention(8, 2)
        >>> h, tok = torch.randn(3, 8), torch.randn(2, 8)
        >>> inc = torch.tensor([[0, 1, 1], [0, 0, 1]])
        >>> out = att(h, tok, inc)
        >>> out.shape, bool(torch.equal(out[2], h[2]))
        (torch.Size([3, 8]), True)
    """

    def __init__(self, channels: int, num_heads: int = 4) -> None:
        super().__init__()
        if channels % num_heads:
            msg = f"channels={channels} must be divisible by num_heads={num_heads}"
            raise ValueError(msg)
        self.num_heads = num_heads
        self.head_dim = channels // num_heads
        self.norm_q = nn.LayerNorm(channels)
        self.norm_kv = nn.LayerNorm(channels)
        self.q = nn.Linear(channels, channels)
        # no key bias: the softmax over keys is invariant to it, so it would get no gradient
        self.k = nn.Linear(channels, channels, bias=False)
        self.v = nn.Linear(channels, channels)
        self.out = nn.Linear(channels, channels)

    def forward(self, h: Tensor, tokens: Tensor, incidence: Tensor) -> Tensor:
        particle, token = incidence[0], incidence[1]
        heads, dim = self.num_heads, self.head_dim
        q = self.q(self.norm_q(h)).view(-1, heads, dim)
        kv_in = self.norm_kv(tokens)
        k, v = self.k(kv_in).view(-1, heads, dim), self.v(kv_in).view(-1, heads, dim)
        scores = (q[particle] * k[token]).sum(-1) / dim**0.5  # [I, heads]
        alpha = softmax(scores, particle, num_nodes=h.shape[0])
        msg = alpha[..., None] * v[token]  # [I, heads, dim]
        agg = torch.zeros(h.shape[0], heads, dim, dtype=h.dtype, device=h.device)
        agg.index_add_(0, particle, msg)
        has = torch.zeros(h.shape[0], dtype=torch.bool, device=h.device)
        has[particle] = True
        update = self.out(agg.view(-1, heads * dim))
        return h + torch.where(has[:, None], update, torch.zeros_like(update))

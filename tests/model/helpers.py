"""Tiny graphs and models for the model tests."""

from __future__ import annotations

import torch
from torch_geometric.data import Data

from hypervae import HyperVAE


class HData(Data):
    """Minimal hypergraph data: hyperedge ids increment by the number of hyperedges."""

    def __inc__(self, key, value, *args, **kwargs):
        if key == "hyperedge_index":
            return torch.tensor([[self.num_nodes], [self.hyperedge_attr.shape[0]]])
        return super().__inc__(key, value, *args, **kwargs)


def jet_graph(n: int, seed: int, jet_type: int = 2) -> HData:
    g = torch.Generator().manual_seed(seed)
    p = torch.randn(n, 3, generator=g, dtype=torch.float64) * 0.1
    p[:, 0] += 1.0 / n
    x = torch.cat([torch.sqrt((p**2).sum(1, keepdim=True) + 1e-4), p], 1)
    edges = torch.combinations(torch.arange(n), 2).T
    tuples = torch.combinations(torch.arange(n), 3)[:4]
    incidence = torch.stack([tuples.reshape(-1), torch.arange(len(tuples)).repeat_interleave(3)])
    return HData(
        x=x,
        edge_index=edges,
        edge_attr=torch.randn(edges.shape[1], 5, generator=g, dtype=torch.float64),
        hyperedge_index=incidence,
        hyperedge_attr=torch.randn(len(tuples), 4, generator=g, dtype=torch.float64),
        jet_type=torch.tensor([jet_type]),
        jet_features=torch.tensor([[1000.0, 0.3, 170.0]], dtype=torch.float64),
        num_nodes=n,
    )


def small_model(**kwargs) -> HyperVAE:
    cfg = {
        "max_particles": 8,
        "latent_dim": 4,
        "hidden": 16,
        "encoder": {"num_blocks": 1},
        "decoder": {"num_blocks": 1},
    }
    torch.manual_seed(0)
    return HyperVAE({**cfg, **kwargs}).double()

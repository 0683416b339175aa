"""The PyG data class of one jet hypergraph."""

from __future__ import annotations

from typing import Any

import torch
from torch_geometric.data import Data

__all__ = ["EDGE_FEATURES", "HYPEREDGE_FEATURES", "Y_FEATURES", "HypergraphData"]

#: Columns of ``edge_attr``.
EDGE_FEATURES = ("w2", "ln_dr", "ln_kt", "ln_z", "ln_m2")
#: Columns of ``hyperedge_attr``.
HYPEREDGE_FEATURES = ("weight", "ln_rl", "ln_rs_over_rl", "ln_rm_over_rl")
#: Columns of ``y``.
Y_FEATURES = ("type", "ln_pt", "eta", "ln_mass")


class HypergraphData(Data):  # type: ignore[misc]  # torch_geometric is untyped
    """A jet as a PyG graph with particle -> hyperedge incidences.

    ``hyperedge_index[0]`` holds particle indices and ``hyperedge_index[1]`` hyperedge
    indices (the :class:`torch_geometric.nn.HypergraphConv` convention); when graphs are
    batched the first row is shifted by the number of particles and the second by the
    number of hyperedges of the graphs before.

    Examples:
        >>> from torch_geometric.data import Batch
        >>> g = HypergraphData(x=torch.zeros(3, 4), hyperedge_index=torch.tensor([[0, 1, 2], [0, 0, 0]]),
        ...                    hyperedge_attr=torch.zeros(1, 4))
        >>> Batch.from_data_list([g, g]).hyperedge_index.tolist()
        [[0, 1, 2, 3, 4, 5], [0, 0, 0, 1, 1, 1]]
    """

    @property
    def num_hyperedges(self) -> int:
        """Number of hyperedges (rows of ``hyperedge_attr``)."""
        attr = self.get("hyperedge_attr") if "hyperedge_attr" in self else None
        return 0 if attr is None else int(attr.size(0))

    def __inc__(self, key: str, value: Any, *args: Any, **kwargs: Any) -> Any:
        if key == "hyperedge_index":
            return torch.tensor([[self.num_nodes], [self.num_hyperedges]])
        return super().__inc__(key, value, *args, **kwargs)

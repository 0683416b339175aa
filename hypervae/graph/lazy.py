"""A dataset view of jets in memory that builds each hypergraph when it is asked for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import awkward as ak
from torch.utils.data import Dataset

from .build import build_from_arrays, jet_arrays
from .config import HypergraphConfig
from .data import HypergraphData

__all__ = ["JetHypergraphs"]


class JetHypergraphs(Dataset[HypergraphData]):
    """Jets in memory as a map-style dataset of hypergraphs, built on access.

    Nothing is stored beyond the padded jets; each item is built from its jet alone
    (so items equal the corresponding :func:`~hypervae.graph.build_hypergraphs` graphs).
    For repeated epochs over large data, build a sharded dataset instead
    (:func:`~hypervae.graph.build_dataset`).

    Arguments:
        jets: Jets array (or bare particles with ``jet_type``).
        config: Construction settings.
        jet_type: Type code for bare particles.
        transform: Applied to each graph, e.g. a fitted
            :class:`~hypervae.graph.GraphNormalization`.

    Examples:
        >>> from hypervae.datasets import make_jets
        >>> from hypervae.physics import from_padded, ptetaphim_to_cartesian
        >>> p4 = ptetaphim_to_cartesian([[50.0, 30, 20]] * 2, [[0.0, 0.1, 0]] * 2, [[0.0, 0, 0.1]] * 2)
        >>> ds = JetHypergraphs(make_jets(from_padded(p4, p4[..., 0] > 0), "z"), {"budget": "all"})
        >>> len(ds), ds[1].hyperedge_index.tolist()
        (2, [[0, 1, 2], [0, 0, 0]])
    """

    def __init__(
        self,
        jets: ak.Array,
        config: HypergraphConfig | dict[str, Any] | None = None,
        jet_type: int | None = None,
        transform: Callable[[HypergraphData], HypergraphData] | None = None,
    ) -> None:
        self.config = HypergraphConfig.from_dict(config or {})
        self.arrays = jet_arrays(jets, self.config.max_particles, jet_type)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.arrays["type"])

    def __getitem__(self, index: int) -> HypergraphData:
        n = len(self)
        if not -n <= index < n:
            msg = f"index {index} out of range for {n} jets"
            raise IndexError(msg)
        index %= n
        one = {key: value[index : index + 1] for key, value in self.arrays.items()}
        graph = build_from_arrays(one, self.config, offset=index)[0]
        return self.transform(graph) if self.transform is not None else graph

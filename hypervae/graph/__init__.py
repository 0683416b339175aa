"""Jets as hypergraphs for PyTorch Geometric: construction, normalisation, storage.

Example:
    >>> import numpy as np
    >>> import hypervae as hv
    >>> from hypervae.graph import HypergraphConfig, build_hypergraphs
    >>> p4 = hv.physics.ptetaphim_to_cartesian([[50.0, 30, 20]], [[0.0, 0.1, 0]], [[0.0, 0, 0.1]])
    >>> jets = hv.datasets.make_jets(hv.physics.from_padded(p4, np.ones((1, 3), bool)), "g")
    >>> graphs = build_hypergraphs(jets, HypergraphConfig(budget="knn", k=2))
    >>> graphs[0].hyperedge_index.tolist()
    [[0, 1, 2], [0, 0, 0]]
"""

from .budget import dominance_candidates, select_tuples
from .build import (
    MASS_FLOOR,
    build_from_arrays,
    build_hypergraph,
    build_hypergraphs,
    iter_hypergraphs,
    jet_arrays,
    to_physical,
)
from .config import BUDGETS, EDGE_MODES, HypergraphConfig
from .data import EDGE_FEATURES, HYPEREDGE_FEATURES, Y_FEATURES, HypergraphData
from .lazy import JetHypergraphs
from .normalization import NORMALIZED_FIELDS, GraphNormalization
from .pipeline import (
    build_dataset,
    build_shard,
    build_with_dask,
    finalize_dataset,
    prepare_output,
)
from .storage import (
    FORMAT,
    HypergraphDataset,
    ShardError,
    file_sha256,
    read_manifest,
    read_shard,
    write_shard,
)
from .validate import (
    CHECKS,
    Issue,
    ValidationReport,
    validate_graph,
    validate_graphs,
    validate_path,
)

__all__ = [
    "BUDGETS",
    "CHECKS",
    "EDGE_FEATURES",
    "EDGE_MODES",
    "FORMAT",
    "HYPEREDGE_FEATURES",
    "MASS_FLOOR",
    "NORMALIZED_FIELDS",
    "Y_FEATURES",
    "GraphNormalization",
    "HypergraphConfig",
    "HypergraphData",
    "HypergraphDataset",
    "Issue",
    "JetHypergraphs",
    "ShardError",
    "ValidationReport",
    "build_dataset",
    "build_from_arrays",
    "build_hypergraph",
    "build_hypergraphs",
    "build_shard",
    "build_with_dask",
    "dominance_candidates",
    "file_sha256",
    "finalize_dataset",
    "iter_hypergraphs",
    "jet_arrays",
    "prepare_output",
    "read_manifest",
    "read_shard",
    "select_tuples",
    "to_physical",
    "validate_graph",
    "validate_graphs",
    "validate_path",
    "write_shard",
]

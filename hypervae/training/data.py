"""Training data: graph datasets, jets files and ``sample:TYPE`` specs as train/val graphs.

The model reads the jet target ``y`` in physical log units, so only ``edge_attr`` and
``hyperedge_attr`` are standardised here (:func:`edge_normalization`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..graph.config import HypergraphConfig
from ..graph.data import HypergraphData
from ..graph.normalization import GraphNormalization
from ..model import JetFeatureNorm

__all__ = ["TrainingData", "edge_normalization", "jet_norm_from_graphs", "load_training_data"]

_EDGE_FIELDS = ("edge_attr", "hyperedge_attr")


def edge_normalization(norm: GraphNormalization) -> GraphNormalization:
    """A copy of ``norm`` that standardises edge and hyperedge features only (not ``y``).

    Examples:
        >>> import torch
        >>> g = HypergraphData(x=torch.zeros(2, 4), edge_attr=torch.tensor([[1.0], [3.0]]),
        ...                    hyperedge_attr=torch.zeros(1, 1), y=torch.tensor([[2.0, 5.0]]))
        >>> out = edge_normalization(GraphNormalization.fit([g])).transform(g)
        >>> out.edge_attr.flatten().tolist(), out.y.tolist()
        ([-1.0, 1.0], [[2.0, 5.0]])
    """
    keep = [k for k in _EDGE_FIELDS if k in norm.mean]
    return GraphNormalization(
        mean={k: list(norm.mean[k]) for k in keep},
        std={k: list(norm.std[k]) for k in keep},
        count={k: norm.count[k] for k in keep if k in norm.count},
    )


def jet_norm_from_graphs(graphs: Sequence[HypergraphData]) -> JetFeatureNorm:
    """:class:`~hypervae.model.JetFeatureNorm` fitted on the graphs' physical ``y``.

    Examples:
        >>> import torch
        >>> gs = [HypergraphData(x=torch.zeros(1, 4), y=torch.tensor([[2.0, v, 0.0, 4.0]]))
        ...       for v in (6.0, 8.0)]
        >>> jet_norm_from_graphs(gs).mean
        (7.0, 0.0, 4.0)
    """
    ys = np.concatenate([g.y.view(-1, 4)[:, 1:].double().numpy() for g in graphs])
    return JetFeatureNorm(mean=ys.mean(0).tolist(), std=np.maximum(ys.std(0), 1e-3).tolist())


@dataclass
class TrainingData:
    """Train and validation graphs (edge features standardised, ``y`` physical).

    Attributes:
        train: Training graphs (a list, in memory).
        val: Validation graphs or ``None``.
        normalization: The fitted :class:`~hypervae.graph.GraphNormalization` (all fields,
            as fitted on the training split).
        jet_norm: Jet-feature statistics of the training split.
        graph_config: How the graphs were built (a dict).
    """

    train: Any
    val: Any
    normalization: GraphNormalization
    jet_norm: JetFeatureNorm
    graph_config: dict[str, Any]


def _from_jets(
    train_jets: Any, val_jets: Any, config: HypergraphConfig, progress: bool
) -> TrainingData:
    from ..graph.build import build_hypergraphs

    train = build_hypergraphs(train_jets, config, progress=progress)
    val = build_hypergraphs(val_jets, config, progress=progress) if val_jets is not None else None
    norm = GraphNormalization.fit(train)
    edge = edge_normalization(norm)
    train = [edge.transform(g) for g in train]
    val = [edge.transform(g) for g in val] if val else None
    return TrainingData(train, val, norm, jet_norm_from_graphs(train), config.to_dict())


def load_training_data(
    spec: str | os.PathLike[str],
    graph_config: HypergraphConfig | dict[str, Any] | None = None,
    max_particles: int | None = None,
    val_fraction: float = 0.1,
    seed: int = 42,
    progress: bool = False,
) -> TrainingData:
    """Train/val graphs from a build-graphs directory, a parquet jets file or ``sample:T``.

    Arguments:
        spec: A dataset directory written by ``hypervae build-graphs`` (uses its ``train``
            and, when present, ``val`` splits and its stored normalisation), a parquet file
            of jets (split randomly, ``val_fraction`` to validation) or ``sample:g|q|t|w|z``
            (the shipped sample's train and val splits).
        graph_config: Construction settings for jets inputs.
        max_particles: Keep at most this many leading particles per jet (jets inputs),
            normally the model's ``max_particles``.
        val_fraction: Validation share of a parquet file.
        seed: Seed of the parquet split.
        progress: Progress bars while building.

    Examples:
        >>> import tempfile
        >>> from hypervae.datasets import make_jets, save_parquet
        >>> from hypervae.physics import from_padded, ptetaphim_to_cartesian
        >>> p4 = ptetaphim_to_cartesian([[50.0, 30, 20]] * 10, [[0.0, 0.1, 0]] * 10, [[0.0, 0, 0.1]] * 10)
        >>> path = tempfile.mkdtemp() + "/jets.parquet"
        >>> _ = save_parquet(make_jets(from_padded(p4, p4[..., 0] > 0), "t"), path)
        >>> data = load_training_data(path, {"budget": "knn", "k": 2})
        >>> len(data.train), len(data.val)
        (9, 1)
    """
    cfg = HypergraphConfig.from_dict(
        graph_config.to_dict()
        if isinstance(graph_config, HypergraphConfig)
        else (graph_config or {})
    )
    if max_particles is not None and (
        cfg.max_particles is None or cfg.max_particles > max_particles
    ):
        cfg = HypergraphConfig.from_dict({**cfg.to_dict(), "max_particles": int(max_particles)})
    text = str(spec)
    if text.startswith("sample:"):
        from ..datasets.sample import load_sample

        jet_type = text.split(":", 1)[1]
        return _from_jets(
            load_sample(jet_type, split="train"), load_sample(jet_type, split="val"), cfg, progress
        )
    path = Path(spec)
    if path.is_dir():
        from ..graph.storage import HypergraphDataset, read_manifest

        manifest = read_manifest(path)
        built = manifest.get("config", {})  # particles beyond the model's slots: per batch
        norm = GraphNormalization.load(path)
        edge = edge_normalization(norm)

        def read(split: str) -> list[HypergraphData]:
            # read shard by shard into memory: shuffled access to a lazy dataset would
            # re-read a shard for almost every graph
            ds = HypergraphDataset(path, split, normalize=False, transform=edge.transform)
            return [ds[i] for i in range(len(ds))]

        train = read("train")
        val = read("val") if "val" in manifest["splits"] else None
        return TrainingData(train, val, norm, jet_norm_from_graphs(train), dict(built))
    if path.is_file():
        from ..datasets.jets import load_parquet

        jets = load_parquet(path)
        n = len(jets)
        if n < 2:
            msg = f"{path}: {n} jets; need at least 2 (train and val)"
            raise ValueError(msg)
        order = np.random.default_rng(seed).permutation(n)
        n_val = min(n - 1, max(1, round(val_fraction * n))) if val_fraction > 0 else 0
        val = jets[np.sort(order[:n_val])] if n_val else None
        return _from_jets(jets[np.sort(order[n_val:])], val, cfg, progress)
    msg = f"--data {text!r}: not a graph dataset directory, a parquet file or 'sample:TYPE'"
    raise FileNotFoundError(msg)

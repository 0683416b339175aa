"""Per-feature standardisation of graph features, fitted on the training split only.

Only ``edge_attr``, ``hyperedge_attr`` and the continuous columns of ``y`` are
standardised; ``x`` never is (it is already scaled by one number per jet, which keeps
its Lorentz structure) and the jet-type column of ``y`` is left as it is.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .._config import Config, ConfigError
from .._io import atomic_write
from .data import HypergraphData

__all__ = ["NORMALIZED_FIELDS", "GraphNormalization"]

#: Attributes standardised, with the columns left untouched (``y[:, 0]`` is the type).
NORMALIZED_FIELDS: dict[str, tuple[int, ...]] = {
    "edge_attr": (),
    "hyperedge_attr": (),
    "y": (0,),
}


@dataclass(frozen=True)
class GraphNormalization(Config):
    """Per-column mean and standard deviation of graph features.

    A frozen :class:`~hypervae._config.Config`: means and standard deviations must be
    finite, standard deviations positive, and ``mean`` and ``std`` must have the same
    fields and columns; a bad value is a :class:`~hypervae._config.ConfigError` naming
    the field (``GraphNormalization.std.edge_attr[2]: must be > 0, got 0.0``).

    Attributes:
        mean: ``{field: [F]}`` means (0 for untouched columns).
        std: ``{field: [F]}`` standard deviations (1 for untouched or constant columns).
        count: ``{field: rows}`` seen when fitting.

    Examples:
        >>> g = HypergraphData(x=torch.zeros(2, 4), edge_attr=torch.tensor([[1.0], [3.0]]),
        ...                    hyperedge_attr=torch.zeros(0, 1), y=torch.tensor([[2.0, 5.0]]))
        >>> norm = GraphNormalization.fit([g])
        >>> norm.transform(g).edge_attr.flatten().tolist()
        [-1.0, 1.0]
        >>> norm.inverse_transform(norm.transform(g)).edge_attr.flatten().tolist()
        [1.0, 3.0]
    """

    mean: dict[str, list[float]] = field(default_factory=dict)
    std: dict[str, list[float]] = field(default_factory=dict)
    count: dict[str, int] = field(default_factory=dict)

    def validate(self) -> None:
        """``mean`` and ``std`` describe the same columns; ``std > 0``; ``count >= 0``."""
        if set(self.mean) != set(self.std):
            reason = f"fields {sorted(self.std)} differ from mean's {sorted(self.mean)}"
            raise self.error("std", reason)
        for name, mu in self.mean.items():
            sd = self.std[name]
            if len(sd) != len(mu):
                reason = f"{len(sd)} columns, mean.{name} has {len(mu)}"
                raise self.error(f"std.{name}", reason)
            for k, value in enumerate(sd):
                if not value > 0:
                    raise self.error(f"std.{name}[{k}]", f"must be > 0, got {value}")
        for name, rows in self.count.items():
            if rows < 0:
                raise self.error(f"count.{name}", f"must be >= 0, got {rows}")

    @classmethod
    def fit(cls, graphs: Iterable[HypergraphData]) -> GraphNormalization:
        """Fits on ``graphs`` (one streaming pass in float64); pass the training split only."""
        sums: dict[str, np.ndarray] = {}
        squares: dict[str, np.ndarray] = {}
        counts: dict[str, int] = {}
        for graph in graphs:
            for name in NORMALIZED_FIELDS:
                value = graph[name].detach().cpu().double().numpy()
                if name not in sums:
                    sums[name] = np.zeros(value.shape[1])
                    squares[name] = np.zeros(value.shape[1])
                    counts[name] = 0
                sums[name] += value.sum(axis=0)
                squares[name] += (value**2).sum(axis=0)
                counts[name] += value.shape[0]
        if not counts:
            msg = "GraphNormalization.fit: no graphs given (expected the training split)"
            raise ValueError(msg)
        mean, std = {}, {}
        for name, skip in NORMALIZED_FIELDS.items():
            n = max(counts[name], 1)
            mu = sums[name] / n
            var = np.maximum(squares[name] / n - mu**2, 0.0)
            sd = np.sqrt(var)
            sd = np.where(sd > 1e-12 * np.maximum(np.abs(mu), 1.0), sd, 1.0)
            for col in skip:
                mu[col], sd[col] = 0.0, 1.0
            mean[name], std[name] = mu.tolist(), sd.tolist()
        return cls(mean=mean, std=std, count=dict(counts))

    def _apply(self, graph: HypergraphData, inverse: bool) -> HypergraphData:
        out: HypergraphData = graph.clone()
        for name in self.mean:
            value = out[name]
            mu = torch.tensor(self.mean[name], dtype=torch.float64)
            sd = torch.tensor(self.std[name], dtype=torch.float64)
            if value.shape[-1] != mu.numel():
                msg = f"{name}: {value.shape[-1]} columns, normalisation has {mu.numel()}"
                raise ValueError(msg)
            v = value.double()
            v = v * sd + mu if inverse else (v - mu) / sd
            out[name] = v.to(value.dtype)
        return out

    def transform(self, graph: HypergraphData) -> HypergraphData:
        """Standardised copy of ``graph``."""
        return self._apply(graph, inverse=False)

    def inverse_transform(self, graph: HypergraphData) -> HypergraphData:
        """Physical-unit copy of a standardised ``graph``."""
        return self._apply(graph, inverse=True)

    __call__ = transform

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Writes ``normalization.json`` (or ``path`` if it names a ``.json`` file)."""
        path = Path(path)
        if path.suffix != ".json":
            path = path / "normalization.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(self.to_dict(), indent=1) + "\n")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> GraphNormalization:
        """Reads what :meth:`save` wrote (a file or its directory).

        Raises:
            FileNotFoundError: No such file (the message names it).
            ValueError: Invalid JSON or values (NaN, a zero std, unknown keys); the
                message names the file and the field.
        """
        path = Path(path)
        if path.is_dir():
            path = path / "normalization.json"
        if not path.is_file():
            msg = f"{path}: no such normalisation file"
            raise FileNotFoundError(msg)
        try:
            return cls.from_json(path.read_text())
        except (ConfigError, UnicodeDecodeError) as error:
            msg = f"{path}: {error}"
            raise ValueError(msg) from None

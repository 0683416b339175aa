"""Configuration of hypergraph construction."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BUDGETS", "EDGE_MODES", "HypergraphConfig"]

BUDGETS = ("all", "knn", "top_weight")
EDGE_MODES = ("all", "knn")


def _positive_int(value: object) -> bool:
    """Whether ``value`` is an ``int`` >= 1 (checked at run time: configs come from JSON)."""
    return isinstance(value, int) and value >= 1


@dataclass(frozen=True)
class HypergraphConfig:
    """How jets become hypergraphs.

    Attributes:
        n_points: Particles per hyperedge (the N of the N-point correlator), 2 to 4.
        budget: Which tuples become hyperedges: ``"all"`` (every set of ``n_points``
            distinct particles, refused for jets above ``max_all_particles``), ``"knn"``
            (tuples of a particle and ``n_points - 1`` of its ``k`` nearest neighbours in
            (y, phi), the ``k * n`` highest-weight kept) or ``"top_weight"`` (the
            ``k * n`` tuples of highest energy weight, found exactly without enumerating
            all tuples). ``n`` is the jet's number of particles.
        k: Neighbours per particle (``"knn"``) and hyperedges per particle (both bounded
            budgets keep at most ``k * n`` hyperedges per jet).
        max_all_particles: Largest jet accepted with ``budget="all"``.
        edges: Pairwise edges: ``"all"`` (every ordered pair ``i != j``) or ``"knn"``
            (each particle receives edges from its ``edge_k`` nearest neighbours).
        edge_k: Neighbours per particle for ``edges="knn"``.
        scale: Per-jet scale of ``x`` (see :func:`hypervae.physics.to_jet_frame`):
            ``"pt"``, ``"energy"`` or a positive number.
        max_particles: Keep only the leading (highest-pT) particles of each jet; ``None``
            keeps all.
        eec_n: Correlators stored in the jet-level ``eec_hist`` (each ``eec_bins`` wide).
        eec_bins: Bins per histogram, uniform in ln R_L.
        eec_range: R_L range of the histograms.
        chunk_size: Jets processed together (vectorised) in one padded chunk.

    Examples:
        >>> cfg = HypergraphConfig.from_dict({"budget": "knn", "k": 4})
        >>> HypergraphConfig.from_json(cfg.to_json()) == cfg
        True
    """

    n_points: int = 3
    budget: str = "knn"
    k: int = 8
    max_all_particles: int = 40
    edges: str = "all"
    edge_k: int = 16
    scale: str | float = "pt"
    max_particles: int | None = None
    eec_n: tuple[int, ...] = (2, 3)
    eec_bins: int = 20
    eec_range: tuple[float, float] = field(default=(1e-4, 2.0))
    chunk_size: int = 64

    def __post_init__(self) -> None:
        object.__setattr__(self, "eec_n", tuple(int(v) for v in self.eec_n))
        object.__setattr__(self, "eec_range", tuple(float(v) for v in self.eec_range))
        checks = [
            ("n_points", self.n_points in (2, 3, 4), "2, 3 or 4"),
            ("budget", self.budget in BUDGETS, f"one of {BUDGETS}"),
            ("k", _positive_int(self.k), "a positive integer"),
            (
                "k",
                self.budget != "knn" or self.k >= self.n_points - 1,
                ">= n_points - 1 with budget='knn' (tuples are a particle and its neighbours)",
            ),
            ("max_all_particles", self.max_all_particles >= self.n_points, ">= n_points"),
            ("edges", self.edges in EDGE_MODES, f"one of {EDGE_MODES}"),
            ("edge_k", _positive_int(self.edge_k), "a positive integer"),
            (
                "scale",
                self.scale in ("pt", "energy")
                or (not isinstance(self.scale, str) and float(self.scale) > 0),
                "'pt', 'energy' or a positive number",
            ),
            (
                "max_particles",
                self.max_particles is None or self.max_particles >= 1,
                "None or a positive integer",
            ),
            ("eec_n", all(v in (2, 3, 4) for v in self.eec_n), "values in (2, 3, 4)"),
            ("eec_bins", self.eec_bins >= 1, "a positive integer"),
            ("eec_range", 0 < self.eec_range[0] < self.eec_range[1], "0 < R_min < R_max"),
            ("chunk_size", self.chunk_size >= 1, "a positive integer"),
        ]
        for name, ok, expected in checks:
            if not ok:
                msg = f"HypergraphConfig.{name} must be {expected}, got {getattr(self, name)!r}"
                raise ValueError(msg)

    @classmethod
    def from_dict(cls, values: dict[str, Any] | HypergraphConfig) -> HypergraphConfig:
        """Builds a config from a dict (unknown keys are refused) or returns a config."""
        if isinstance(values, HypergraphConfig):
            return values
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            msg = f"HypergraphConfig: unknown fields {unknown}; expected some of {sorted(known)}"
            raise ValueError(msg)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-compatible values."""
        out = dataclasses.asdict(self)
        out["eec_n"] = list(self.eec_n)
        out["eec_range"] = list(self.eec_range)
        return out

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> HypergraphConfig:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

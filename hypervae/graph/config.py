"""Configuration of hypergraph construction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .._config import Config, bounded

__all__ = ["BUDGETS", "EDGE_MODES", "HypergraphConfig"]

BUDGETS = ("all", "knn", "top_weight")
EDGE_MODES = ("all", "knn")


@dataclass(frozen=True)
class HypergraphConfig(Config):
    """How jets become hypergraphs.

    A frozen :class:`~hypervae._config.Config`: every value is checked at construction
    and a bad one is a :class:`~hypervae._config.ConfigError` naming the field
    (``HypergraphConfig.k: must be >= 1, got 0``). Change a setting with
    :meth:`~hypervae._config.Config.replace`.

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
        >>> cfg.replace(k=0)
        Traceback (most recent call last):
            ...
        hypervae._config.ConfigError: HypergraphConfig.k: must be >= 1, got 0
    """

    n_points: Literal[2, 3, 4] = 3
    budget: Literal["all", "knn", "top_weight"] = "knn"
    k: int = bounded(8, ge=1)
    max_all_particles: int = bounded(40, ge=2)
    edges: Literal["all", "knn"] = "all"
    edge_k: int = bounded(16, ge=1)
    scale: Literal["pt", "energy"] | float = "pt"
    max_particles: int | None = bounded(None, ge=1)
    eec_n: tuple[Literal[2, 3, 4], ...] = (2, 3)
    eec_bins: int = bounded(20, ge=1)
    eec_range: tuple[float, float] = (1e-4, 2.0)
    chunk_size: int = bounded(64, ge=1)

    def validate(self) -> None:
        """Cross-field checks: ``k`` with ``knn``, ``max_all_particles``, scale, range."""
        if self.budget == "knn" and self.k < self.n_points - 1:
            reason = (
                f"must be >= n_points - 1 = {self.n_points - 1} with budget='knn' (tuples are "
                f"a particle and its neighbours), got {self.k}"
            )
            raise self.error("k", reason)
        if self.max_all_particles < self.n_points:
            reason = f"must be >= n_points = {self.n_points}, got {self.max_all_particles}"
            raise self.error("max_all_particles", reason)
        if not isinstance(self.scale, str) and not self.scale > 0:
            raise self.error("scale", f"must be 'pt', 'energy' or > 0, got {self.scale}")
        low, high = self.eec_range
        if not 0 < low < high:
            raise self.error("eec_range", f"must satisfy 0 < R_min < R_max, got {self.eec_range}")

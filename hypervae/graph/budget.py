r"""Bounded choices of particle tuples (hyperedges) per jet.

All functions work on a padded chunk of jets and return flat arrays ``jet[T]`` and
``tuples[T, n]`` (member indices sorted ascending, rows grouped by jet and ordered
lexicographically within a jet), without enumerating the :math:`\binom{P}{n}` tuples
of a jet except for the ``"all"`` budget.

``"top_weight"`` is exact: with particles ranked by weight (rank 0 the hardest), a
tuple of ranks :math:`r_1 < \dots < r_n` is outweighed (or tied) by at least
:math:`(r_1 + 1)(r_2 - r_1) \cdots (r_n - r_{n-1})` tuples (replace each member by one
of rank between its predecessor's and its own), so the ``K`` heaviest tuples are among
those where this product is at most ``K``: a set of about :math:`K \ln^{n-1} K`
candidates, independent of the jet size.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ..physics.eec import combinations

__all__ = ["dominance_candidates", "select_tuples"]


@lru_cache(maxsize=32)
def dominance_candidates(size: int, n: int, budget: int) -> np.ndarray:
    """Rank tuples ``r_1 < ... < r_n < size`` whose dominance count is at most ``budget``.

    Shapes:
        output: ``[C, n]`` int64 (read-only, cached).

    Examples:
        >>> dominance_candidates(5, 2, 2).tolist()
        [[0, 1], [0, 2], [1, 2]]
    """
    prefixes = np.arange(min(size, budget), dtype=np.int64)[:, None]
    prod = prefixes[:, 0] + 1
    for _ in range(1, n):
        last = prefixes[:, -1]
        max_gap = np.minimum(budget // prod, size - 1 - last)
        keep = max_gap >= 1
        prefixes, prod, last, max_gap = prefixes[keep], prod[keep], last[keep], max_gap[keep]
        rows = np.repeat(np.arange(prefixes.shape[0]), max_gap)
        starts = np.repeat(np.cumsum(max_gap) - max_gap, max_gap)
        gaps = np.arange(rows.size) - starts + 1
        prefixes = np.concatenate([prefixes[rows], (last[rows] + gaps)[:, None]], axis=1)
        prod = prod[rows] * gaps
    prefixes.setflags(write=False)
    return prefixes


def _keys(jet: np.ndarray, tuples: np.ndarray, size: int) -> np.ndarray:
    key = jet.astype(np.int64)
    for a in range(tuples.shape[1]):
        key = key * size + tuples[:, a]
    return key


def _cap(
    jet: np.ndarray, tuples: np.ndarray, w: np.ndarray, caps: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Keeps the ``caps[j]`` heaviest tuples of each jet ``j``; lexicographic order out."""
    weight = np.prod(w[jet[:, None], tuples], axis=1)
    key = _keys(jet, tuples, size)
    order = np.lexsort((key, -weight, jet))  # by jet, heaviest first, ties by index
    jet_sorted = jet[order]
    first = np.searchsorted(jet_sorted, jet_sorted, side="left")
    rank = np.arange(order.size) - first
    kept = order[rank < caps[jet_sorted]]
    kept = kept[np.argsort(key[kept], kind="stable")]
    return jet[kept], tuples[kept]


def select_tuples(
    ln_dr: np.ndarray,
    w: np.ndarray,
    counts: np.ndarray,
    n: int,
    budget: str,
    k: int,
    max_all_particles: int = 40,
    jet_offset: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Chooses the hyperedges of a padded chunk of jets.

    Arguments:
        ln_dr: Pairwise ln ΔR in (y, phi), ``[B, P, P]``.
        w: Energy weights ``p_T / sum p_T``, ``[B, P]`` (0 for padding).
        counts: Particles per jet ``[B]``.
        n: Particles per tuple.
        budget: ``"all"``, ``"knn"`` or ``"top_weight"`` (see :class:`HypergraphConfig`).
        k: Neighbours (``"knn"``) and hyperedges per particle (both bounded budgets).
        max_all_particles: Largest jet accepted with ``"all"``.
        jet_offset: Index of the chunk's first jet, for error messages.

    Returns:
        ``jet[T]`` (index in the chunk) and ``tuples[T, n]``; a jet keeps at most
        ``k * counts[j]`` tuples under ``"knn"`` and ``"top_weight"``.

    Shapes:
        ln_dr: ``[B, P, P]``; w: ``[B, P]``; counts: ``[B]``; out ``[T]``, ``[T, n]``.

    Examples:
        >>> ln_dr = np.log(np.array([[[1, 1, 2, 3], [1, 1, 1, 2], [2, 1, 1, 1], [3, 2, 1, 1.0]]]))
        >>> w = np.array([[0.4, 0.3, 0.2, 0.1]])
        >>> jet, t = select_tuples(ln_dr, w, np.array([4]), 3, "top_weight", 1)
        >>> t.tolist()  # the k * n = 4 heaviest of the 4 triplets
        [[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]]
    """
    counts = np.asarray(counts, dtype=np.int64)
    n_jets, size = w.shape
    empty = (np.zeros(0, np.int64), np.zeros((0, n), np.int64))
    if n_jets == 0 or size < n:
        return empty
    caps = k * counts
    if budget == "all":
        too_big = counts > max_all_particles
        if np.any(too_big):
            bad = int(np.argmax(too_big))
            msg = (
                f"jet {jet_offset + bad} has {int(counts[bad])} particles: budget='all' is "
                f"limited to max_all_particles={max_all_particles} "
                f"({math.comb(int(counts[bad]), n)} tuples); use budget='knn' or 'top_weight'"
            )
            raise ValueError(msg)
        combs = combinations(size, n)
        jet, t = np.nonzero(combs[None, :, -1] < counts[:, None])
        return jet, combs[t]
    if budget == "knn":
        dist = np.array(ln_dr, dtype=np.float64, copy=True)
        valid = np.arange(size)[None, :] < counts[:, None]
        dist[~(valid[:, :, None] & valid[:, None, :])] = np.inf
        idx = np.arange(size)
        dist[:, idx, idx] = np.inf
        kk = min(k, size - 1)
        nb = np.argsort(dist, axis=2, kind="stable")[:, :, :kk]  # [B, P, kk]
        nb_ok = np.isfinite(np.take_along_axis(dist, nb, axis=2))
        sub = combinations(kk, n - 1)  # [C, n-1]
        members = nb[:, :, sub]  # [B, P, C, n-1]
        ok = np.all(nb_ok[:, :, sub], axis=-1) & valid[:, :, None]
        centre = np.broadcast_to(idx[None, :, None, None], (*members.shape[:3], 1))
        cand = np.concatenate([centre, members], axis=-1)
        jet = np.broadcast_to(np.arange(n_jets)[:, None, None], ok.shape)[ok]
        tuples = np.sort(cand[ok], axis=1)
        _, first = np.unique(_keys(jet, tuples, size), return_index=True)
        return _cap(jet[first], tuples[first], w, caps, size)
    if budget == "top_weight":
        order = np.argsort(-w, axis=1, kind="stable")  # padding (w = 0) last
        ranks = dominance_candidates(size, n, int(caps.max()))
        jet, t = np.nonzero(ranks[None, :, -1] < counts[:, None])
        tuples = np.sort(order[jet[:, None], ranks[t]], axis=1)
        return _cap(jet, tuples, w, caps, size)
    msg = f"budget must be 'all', 'knn' or 'top_weight', got {budget!r}"
    raise ValueError(msg)

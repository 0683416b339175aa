r"""Jet substructure observables that show how a generator fails: pT ranks, girth, diversity.

All three work in the JetNet relative coordinates of :func:`.metrics.jetnet_features`
(``eta_rel``, ``phi_rel``, ``pt_rel`` with respect to the jet's own axis), so they are
invariant under rotations about the beam (tested) and treat real and generated jets
alike. They are not exactly invariant under boosts along the beam: the axis is the
pseudorapidity of the massive jet, as in JetNet, not its rapidity.

* :func:`rank_pt_shares` -- the share :math:`p_{T,k} / \sum_i p_{T,i}` of the
  :math:`k`-th hardest particle (zero where a jet has fewer than :math:`k` particles);
* :func:`girth` -- the :math:`p_T`-weighted mean distance to the jet axis,
  :math:`g = \sum_i p_{T,i} \Delta R_i / \sum_i p_{T,i}`;
* :func:`pairwise_emd` and :func:`diversity` -- the energy mover's distance between two
  jets (balanced optimal transport of their normalised :math:`p_T` fractions with ground
  distance :math:`\Delta R` in the :math:`(\eta_{rel}, \phi_{rel})` plane, the
  :math:`R \to \infty` limit of Komiske, Metodiev, Thaler) and its mean over all pairs of
  a subsample: a generator that outputs an average jet has a low diversity.

References:
    | Komiske, Metodiev, Thaler, Metric Space of Collider Events, PRL 123 (2019) 041801,
    | https://arxiv.org/abs/1902.02346
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .metrics import jetnet_features

__all__ = ["RANKS", "diversity", "girth", "pairwise_emd", "rank_pt_shares"]

#: Particle ranks (1 = hardest) reported by default.
RANKS = (1, 5, 10, 20, 30)


def _weights(pt: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """pT fractions per jet ``[N, P]`` (zero where masked); a jet without pT is refused."""
    pt = np.where(mask, pt, 0.0)
    total = pt.sum(axis=1)
    if np.any(total <= 0):
        bad = int(np.argmax(total <= 0))
        msg = f"jet {bad} has no particle with positive pT"
        raise ValueError(msg)
    out: np.ndarray = pt / total[:, None]
    return out


def rank_pt_shares(jets: Any, ranks: Sequence[int] = RANKS) -> np.ndarray:
    r"""pT share of the :math:`k`-th hardest particle of each jet, for each ``k`` in ``ranks``.

    Arguments:
        jets: Jets or bare particle lists (see :func:`.metrics.jetnet_features`).
        ranks: 1-based particle ranks by decreasing :math:`p_T`.

    Returns:
        ``[N, len(ranks)]`` shares :math:`p_{T,k} / \sum_i p_{T,i}` in ``[0, 1]``; zero
        where a jet has fewer than ``k`` particles.

    Examples:
        >>> import hypervae as hv
        >>> p4 = hv.physics.ptetaphim_to_cartesian([[1.0, 3.0]], [[0.1, -0.1]], [[0.0, 0.0]])
        >>> jets = hv.physics.from_padded(p4, np.ones((1, 2), bool))
        >>> rank_pt_shares(jets, ranks=(1, 2, 3)).round(6).tolist()
        [[0.75, 0.25, 0.0]]
    """
    ranks = [int(k) for k in ranks]
    if any(k < 1 for k in ranks):
        msg = f"ranks must be >= 1 (1 = hardest particle), got {ranks}"
        raise ValueError(msg)
    x, mask = jetnet_features(jets)
    shares = -np.sort(-_weights(x[..., 2], mask), axis=1)  # decreasing pT, zeros last
    width = max(ranks, default=0)
    if shares.shape[1] < width:
        shares = np.pad(shares, ((0, 0), (0, width - shares.shape[1])))
    return shares[:, [k - 1 for k in ranks]]


def girth(jets: Any) -> np.ndarray:
    r"""Girth :math:`\sum_i p_{T,i} \Delta R_i / \sum_i p_{T,i}` of each jet ``[N]``.

    :math:`\Delta R_i = \sqrt{\eta_{rel,i}^2 + \phi_{rel,i}^2}` is the distance of particle
    :math:`i` to the jet axis.

    Examples:
        >>> import hypervae as hv
        >>> p4 = hv.physics.ptetaphim_to_cartesian([[1.0, 1.0]], [[0.1, -0.1]], [[0.0, 0.0]])
        >>> girth(hv.physics.from_padded(p4, np.ones((1, 2), bool))).round(6).tolist()
        [0.1]
    """
    x, mask = jetnet_features(jets)
    w = _weights(x[..., 2], mask)
    dr = np.hypot(x[..., 0], x[..., 1])
    out: np.ndarray = (w * dr).sum(axis=1)
    return out


def _clouds(jets: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    x, mask = jetnet_features(jets)
    w = _weights(x[..., 2], mask)
    return [(x[j, mask[j], :2], w[j, mask[j]]) for j in range(len(x))]


def _emd(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> float:
    import ot  # the POT library (a dependency), imported only when needed

    (xa, wa), (xb, wb) = a, b
    cost = np.hypot(xa[:, None, 0] - xb[None, :, 0], xa[:, None, 1] - xb[None, :, 1])
    # renormalised in float64: POT checks that both marginals have the same mass
    return float(ot.emd2(wa / wa.sum(), wb / wb.sum(), cost))


def pairwise_emd(jets: Any, other: Any = None) -> np.ndarray:
    r"""Energy mover's distances between jets (:math:`R \to \infty`, normalised :math:`p_T`).

    Arguments:
        jets: ``N`` jets or bare particle lists.
        other: ``M`` more jets; when ``None``, the distances among ``jets``.

    Returns:
        ``[N, M]`` (or symmetric ``[N, N]`` with a zero diagonal) distances in units of
        :math:`\Delta R`.

    Examples:
        >>> import hypervae as hv
        >>> p4 = hv.physics.ptetaphim_to_cartesian([[1.0], [1.0]], [[0.0], [0.0]], [[0.0], [0.0]])
        >>> pairwise_emd(hv.physics.from_padded(p4, np.ones((2, 1), bool))).tolist()
        [[0.0, 0.0], [0.0, 0.0]]
    """
    a = _clouds(jets)
    if other is None:
        out = np.zeros((len(a), len(a)))
        for i in range(len(a)):
            for j in range(i + 1, len(a)):
                out[i, j] = out[j, i] = _emd(a[i], a[j])
        return out
    b = _clouds(other)
    return np.array([[_emd(p, q) for q in b] for p in a]).reshape(len(a), len(b))


def diversity(jets: Any, n_jets: int = 200, seed: int | None = 0) -> float:
    """Mean energy mover's distance between distinct jets of a random subsample.

    Arguments:
        jets: Jets or bare particle lists.
        n_jets: Jets drawn without replacement (all when fewer); the cost grows as
            ``n_jets**2`` optimal-transport problems.
        seed: Seed of the subsample's private generator.

    Returns:
        The mean of :func:`pairwise_emd` over the ``n_jets * (n_jets - 1) / 2`` pairs.

    Examples:
        >>> import hypervae as hv
        >>> p4 = hv.physics.ptetaphim_to_cartesian(
        ...     [[1.0, 1.0], [1.0, 1.0]], [[0.1, -0.1], [0.0, 0.0]], [[0.0, 0.0], [0.1, -0.1]])
        >>> round(diversity(hv.physics.from_padded(p4, np.ones((2, 2), bool))), 6)
        0.141421
    """
    if n_jets < 2:
        msg = f"diversity needs n_jets >= 2, got {n_jets}"
        raise ValueError(msg)
    n = len(jets)
    if n < 2:
        msg = f"diversity needs at least 2 jets, got {n}"
        raise ValueError(msg)
    pick = np.random.default_rng(seed).choice(n, size=min(n_jets, n), replace=False)
    d = pairwise_emd(jets[np.sort(pick)])
    m = len(d)
    return float(d.sum() / (m * (m - 1)))

r"""Energy-weighted projected N-point energy correlators (EEC) of jets.

The projected N-point correlator of a jet with particle energy weights
:math:`w_i = p_{T,i} / \sum_k p_{T,k}` is the distribution

.. math::

    \frac{d\Sigma_N}{d \ln R_L} = \sum_{i_1, \dots, i_N} w_{i_1} \cdots w_{i_N}\,
    \delta\!\left(\ln R_L - \ln \max_{a<b} \Delta R_{i_a i_b}\right),

a sum over all *ordered* N-tuples, repeated indices included, with
:math:`\Delta R` the distance in (rapidity, azimuth), so that every quantity is invariant
under longitudinal boosts and rotations about the beam.

The sum is evaluated over unordered sets of :math:`k` distinct particles with the
multiplicity factors of the ordered sum: a set of ``k`` distinct particles carries
:math:`\sum_{m_1 + \dots + m_k = N,\, m_a \geq 1} \frac{N!}{m_1! \cdots m_k!}
\prod_a w_a^{m_a}`, e.g. for N = 3, :math:`6 w_i w_j w_k` for distinct triplets and
:math:`3 w_i w_j (w_i + w_j)` for pairs with one repeated index.

**Contact terms.** Only the ``i = j`` terms are left out, and by index: the
fully-collinear contact term :math:`\sum_i w_i^N`, at :math:`R_L = 0`, has no place on a
logarithmic axis. Tuples of two or more distinct particles (including repeated indices)
are all kept, also when distinct particles point in exactly the same direction: their
:math:`R_L` is clamped below at :data:`~hypervae.physics.tuples.RL_FLOOR` = ``1e-8``.
Weight outside the histogram range is dropped. With the contact term the weights add up
to :math:`(\sum_i w_i)^N`, so a histogram whose range reaches below ``1e-8`` and above
the largest :math:`R_L` holds :math:`(\sum_i w_i)^N - \sum_i w_i^N`.

**Energy weights.** By default (``weights="particles"``) the weights are normalised to
the :math:`p_T` sum of the particles given (the kept ones, e.g. the leading 30), so
:math:`\sum_i w_i = 1` and a full histogram holds :math:`1 - \sum_i w_i^N`.
``weights="jet"`` normalises them to the jet :math:`p_T` instead (its ``pt`` field when
present, else that of the particle sum), as when the stored particles are a subset of
the jet.

The tuple enumeration is shared with the torch loss: :mod:`hypervae.physics.tuples`.

Work is vectorised over jets and tuples (no Python loop over particles, pairs or
triplets) and chunked over jets so that the number of tuples held at once stays under
``max_tuples`` (150-particle jets at N = 3 run in bounded memory).

References:
    | Energy correlators on tracks / N-point projected correlators
    | (Chen, Moult, Zhang, Zhu, 2020) https://arxiv.org/abs/2004.11381
    | Komiske, Moult, Thaler, Zhu, Analyzing N-point Energy Correlators Inside Jets
    | with CMS Open Data (2022) https://arxiv.org/abs/2201.07800
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import awkward as ak
import numpy as np

from .kinematics import to_padded
from .tuples import RL_FLOOR, eec_inputs, eec_tuples
from .tuples import combinations as combinations  # noqa: PLC0414 (re-exported: graph.budget)

__all__ = [
    "DEFAULT_BINS",
    "DEFAULT_RANGE",
    "MAX_PARTICLES_N4",
    "bin_edges",
    "eec",
    "tuple_values",
]

DEFAULT_BINS = 40
DEFAULT_RANGE = (1e-4, 2.0)
MAX_PARTICLES_N4 = 50


def bin_edges(
    bins: int | Sequence[float] | np.ndarray = DEFAULT_BINS,
    rl_range: tuple[float, float] = DEFAULT_RANGE,
) -> np.ndarray:
    """Bin edges in :math:`R_L`, uniform in :math:`\\ln R_L`.

    Arguments:
        bins: Number of bins, or explicit increasing positive edges (then ``rl_range``
            is ignored).
        rl_range: ``(R_min, R_max)`` for ``bins`` uniform bins in ``ln R_L``.

    Examples:
        >>> bin_edges(2, (0.01, 1.0)).round(6).tolist()
        [0.01, 0.1, 1.0]
    """
    if isinstance(bins, int | np.integer):
        lo, hi = rl_range
        if not 0 < lo < hi:
            msg = f"rl_range must satisfy 0 < R_min < R_max, got {rl_range}"
            raise ValueError(msg)
        return np.exp(np.linspace(np.log(lo), np.log(hi), int(bins) + 1))
    edges = np.asarray(bins, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2 or np.any(edges <= 0) or np.any(np.diff(edges) <= 0):
        msg = "bins must be an int or a 1D array of increasing positive edges"
        raise ValueError(msg)
    return edges


def _bin(
    rl: np.ndarray, weight: np.ndarray, log_edges: np.ndarray, uniform: bool, jet_offset: np.ndarray
) -> np.ndarray:
    """Weighted histogram of ``rl [B, T]`` into ``B`` consecutive blocks of bins."""
    n_bins = log_edges.size - 1
    with np.errstate(divide="ignore"):
        log_rl = np.log(rl)
    if uniform:
        scale = n_bins / (log_edges[-1] - log_edges[0])
        b = np.floor((log_rl - log_edges[0]) * scale)
    else:
        b = np.searchsorted(log_edges, log_rl, side="right") - 1.0
    good = (b >= 0) & (b < n_bins) & (weight > 0)
    flat = (jet_offset + np.where(good, b, 0).astype(np.int64))[good]
    return np.bincount(flat, weights=weight[good], minlength=jet_offset.size * n_bins)


def _n_tuples(size: int, n: int) -> int:
    """Number of index sets of 2..n distinct particles among ``size``."""
    return max(1, sum(math.comb(size, k) for k in range(2, n + 1)))


def eec(
    jets: Any,
    n: int = 2,
    bins: int | Sequence[float] | np.ndarray = DEFAULT_BINS,
    rl_range: tuple[float, float] = DEFAULT_RANGE,
    density: bool = False,
    max_tuples: int = 2**22,
    weights: str = "particles",
) -> np.ndarray:
    r"""Per-jet projected N-point EEC histograms in :math:`\ln R_L`.

    Only the ``i = j`` contact terms are left out, by index: two distinct particles in
    the same direction contribute at :math:`R_L` = :data:`RL_FLOOR` (``1e-8``), inside
    the histogram when ``rl_range`` reaches below it. Weight outside ``rl_range`` is
    dropped.

    Arguments:
        jets: Jets or particles (awkward), or a padded pair ``(p4[N, P, 4], mask[N, P])``.
        n: Number of points, 2, 3 or 4 (4 only for jets with at most
            :data:`MAX_PARTICLES_N4` particles).
        bins: Number of bins or explicit edges (see :func:`bin_edges`).
        rl_range: Histogram range in :math:`R_L`.
        density: Divide by the bin width in :math:`\ln R_L` (so the curve is
            :math:`d\Sigma / d\ln R_L`); otherwise each bin holds the summed weight.
        max_tuples: Upper bound on ``jets x tuples`` held in memory at once.
        weights: Normalisation of the energy weights :math:`w_i = p_{T,i} / p_T^{ref}`:
            ``"particles"`` (default): :math:`p_T^{ref} = \sum_k p_{T,k}` over the given
            (kept) particles, so the weights of a jet add up to one; ``"jet"``: the jet
            :math:`p_T`, its ``pt`` field when ``jets`` has one (as in JetNet, where the
            jet includes particles beyond the stored ones), else the :math:`p_T` of the
            sum of the particles' 4-momenta.

    Returns:
        ``[N, n_bins]`` float64 histograms. With ``weights="particles"`` a range
        covering every :math:`R_L` gives :math:`1 - \sum_i w_i^N` per jet; with
        ``"jet"``, :math:`(\sum_i w_i)^N - \sum_i w_i^N`.

    Raises:
        ValueError: Bad ``n``, ``bins``, ``rl_range`` or ``weights``; a jet over
            :data:`MAX_PARTICLES_N4` particles at N = 4; a non-positive jet :math:`p_T`
            with ``weights="jet"`` (each naming the jet).

    Examples:
        >>> from hypervae.physics import ptetaphim_to_cartesian
        >>> p4 = ptetaphim_to_cartesian([[1.0, 1.0]], [[0.0, 0.1]], [[0.0, 0.0]])
        >>> h = eec((p4, np.ones((1, 2), bool)), n=2, bins=[0.05, 0.2])
        >>> h.tolist()  # 2 w1 w2 = 0.5 at R_L = 0.1
        [[0.5]]
    """
    if n not in (2, 3, 4):
        msg = f"n must be 2, 3 or 4, got {n}"
        raise ValueError(msg)
    edges = bin_edges(bins, rl_range)
    log_edges = np.log(edges)
    n_bins = edges.size - 1
    p4, mask = _as_padded(jets)
    jet_pt = _reference_pt(jets, p4, mask, weights)
    counts = mask.sum(axis=1)
    if n == 4 and np.any(counts > MAX_PARTICLES_N4):
        bad = int(np.argmax(counts > MAX_PARTICLES_N4))
        msg = (
            f"jet {bad} has {int(counts[bad])} particles; the 4-point EEC is limited to "
            f"{MAX_PARTICLES_N4} particles per jet (keep the leading ones first)"
        )
        raise ValueError(msg)
    uniform = isinstance(bins, int | np.integer)
    out = np.zeros((p4.shape[0], n_bins))
    order = np.argsort(counts, kind="stable")  # similar multiplicities share a chunk
    start = 0
    while start < order.size:
        # jets are sorted by multiplicity: size the chunk on its first jet, then shrink
        # it to fit its largest one, so jets x tuples stays under max_tuples
        chunk = max(1, max_tuples // _n_tuples(int(counts[order[start]]), n))
        largest = int(counts[order[start : start + chunk]].max())
        chunk = max(1, min(chunk, max_tuples // _n_tuples(largest, n)))
        sel = order[start : start + chunk]
        size = max(int(counts[sel].max()), 1)
        dr, w = eec_inputs(
            p4[sel, :size], mask[sel, :size], None if jet_pt is None else jet_pt[sel]
        )
        hist = np.zeros(sel.size * n_bins)
        jet_offset = (np.arange(sel.size) * n_bins)[:, None]
        step = max(1, max_tuples // sel.size)  # tuple blocks bound single large jets too
        for k in range(2, min(n, size) + 1):
            index_sets = combinations(size, k)
            for lo in range(0, len(index_sets), step):
                rl, weight = eec_tuples(dr, w, index_sets[lo : lo + step], n)
                hist += _bin(np.maximum(rl, RL_FLOOR), weight, log_edges, uniform, jet_offset)
        out[sel] = hist.reshape(sel.size, n_bins)
        start += sel.size
    if density:
        out /= np.diff(log_edges)[None, :]
    return out


def tuple_values(
    jets: Any, tuples: Any, symmetry_factor: bool = True, weights: str = "particles"
) -> tuple[np.ndarray, np.ndarray]:
    r"""Per-tuple :math:`R_L` and energy weight for given particle tuples.

    Arguments:
        jets: Jets or particles (awkward) or padded ``(p4[N, P, 4], mask[N, P])``.
        tuples: Integer indices ``[N, K, n]`` of ``n`` distinct particles per tuple
            (``-1`` rows are padding), or ``[K, n]`` for a single jet.
        symmetry_factor: Multiply the weight by ``n!``, the number of ordered tuples of
            distinct particles, as in the histogram sum; otherwise return
            :math:`\prod_a w_{i_a}`.
        weights: ``"particles"`` or ``"jet"``, as in :func:`eec`.

    Returns:
        ``R_L[N, K]`` and ``weight[N, K]`` (zero for padding rows); ``[K]`` each for a
        single jet.

    Examples:
        >>> from hypervae.physics import ptetaphim_to_cartesian
        >>> p4 = ptetaphim_to_cartesian([[1.0, 1.0, 2.0]], [[0.0, 0.1, 0.0]], [[0.0, 0.0, 0.2]])
        >>> rl, wt = tuple_values((p4, np.ones((1, 3), bool)), [[0, 1, 2]])
        >>> round(float(rl[0]), 6), float(wt[0])  # max ΔR; 3! * 1/4 * 1/4 * 1/2
        (0.223607, 0.1875)
    """
    p4, mask = _as_padded(jets)
    jet_pt = _reference_pt(jets, p4, mask, weights)
    idx = np.asarray(tuples, dtype=np.int64)
    single = idx.ndim == 2
    if single:
        idx = idx[None]
    if idx.ndim != 3 or idx.shape[0] != p4.shape[0]:
        msg = f"tuples must have shape [N, K, n] with N={p4.shape[0]} jets, got {idx.shape}"
        raise ValueError(msg)
    valid = np.all(idx >= 0, axis=-1)
    counts = mask.sum(axis=1)
    too_big = valid & np.any(idx >= counts[:, None, None], axis=-1)
    if np.any(too_big):
        jet, row = (int(v[0]) for v in np.nonzero(too_big))
        msg = f"jet {jet}: tuple {row} {idx[jet, row].tolist()} indexes past its {int(counts[jet])} particles"
        raise IndexError(msg)
    safe = np.where(valid[..., None], idx, 0)
    dr, w = eec_inputs(p4, mask, jet_pt)
    batch = np.arange(p4.shape[0])[:, None]
    rl = np.zeros(idx.shape[:2])
    n = idx.shape[-1]
    for a, b in itertools.combinations(range(n), 2):
        np.maximum(rl, dr[batch, safe[..., a], safe[..., b]], out=rl)
    weight = np.prod(w[batch[..., None], safe], axis=-1)
    if symmetry_factor:
        weight = weight * math.factorial(n)
    rl, weight = np.where(valid, rl, 0.0), np.where(valid, weight, 0.0)
    return (rl[0], weight[0]) if single else (rl, weight)


def _as_padded(jets: Any) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(jets, tuple):
        p4, mask = jets
        return np.asarray(p4, dtype=np.float64), np.asarray(mask, dtype=bool)
    if isinstance(jets, ak.Array):
        return to_padded(jets)
    msg = f"expected an awkward Array or a (p4, mask) tuple, got {type(jets).__name__}"
    raise TypeError(msg)


def _reference_pt(jets: Any, p4: np.ndarray, mask: np.ndarray, weights: str) -> np.ndarray | None:
    """Per-jet pT normalising the energy weights: None for ``"particles"``."""
    if weights == "particles":
        return None
    if weights != "jet":
        msg = f"weights must be 'particles' or 'jet', got {weights!r}"
        raise ValueError(msg)
    if isinstance(jets, ak.Array) and {"particles", "pt"} <= set(ak.fields(jets)):
        jet_pt: np.ndarray = ak.to_numpy(jets["pt"]).astype(np.float64)
    else:
        real = np.where(mask[..., None], p4, 0.0).sum(axis=1)
        jet_pt = np.hypot(real[:, 1], real[:, 2])
    bad = ~(np.isfinite(jet_pt) & (jet_pt > 0))
    if np.any(bad):
        jet = int(np.argmax(bad))
        msg = f"weights='jet': jet {jet} has pT {jet_pt[jet]}; expected a finite positive pT"
        raise ValueError(msg)
    return jet_pt

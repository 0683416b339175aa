r"""The JetNet protocol's Wasserstein metrics: W1M, W1P and W1EFP.

Real and generated jets are compared in relative coordinates ``(eta_rel, phi_rel,
pt_rel)`` (:func:`jetnet_features`). W1 metrics draw ``num_batches`` (5) batches of
``num_eval_samples`` (50,000, capped at the smaller sample) jets with replacement from a
seeded generator and return ``(mean, std)`` over batches.

References:
    | Kansal et al., Particle Cloud Generation with Message Passing Generative
    | Adversarial Networks, NeurIPS 2021, https://arxiv.org/abs/2106.11535
"""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np
from scipy.stats import wasserstein_distance

from .._compat import renamed_arguments
from ..physics.kinematics import to_relative
from .efp import FPD_GRAPHS, W1EFP_GRAPHS, efps

__all__ = [
    "PARTICLE_FEATURES",
    "jetnet_features",
    "relative_mass",
    "w1_batches",
    "w1efp",
    "w1m",
    "w1p",
]

PARTICLE_FEATURES = ("eta_rel", "phi_rel", "pt_rel")


_W1EFP_COLUMNS = [FPD_GRAPHS.index(g) for g in W1EFP_GRAPHS]


# --------------------------------------------------------------------------- inputs
@renamed_arguments(n_max="max_particles")
def jetnet_features(jets: Any, max_particles: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Zero-padded JetNet particle features ``(eta_rel, phi_rel, pt_rel)`` and mask.

    Arguments:
        jets: Jets (records with ``particles`` and jet-level ``pt, eta, phi``, whose
            values define the relative coordinates as in JetNet) or bare particles
            (then the jet is the particle sum), see :func:`hypervae.physics.to_relative`.
        max_particles: Particle slots; the largest multiplicity by default (``n_max=`` is
            a deprecated alias).

    Returns:
        ``features[N, P, 3]`` float64 (zero where masked) and ``mask[N, P]``.

    Examples:
        >>> import hypervae as hv
        >>> p4 = hv.physics.ptetaphim_to_cartesian([[3.0, 1.0]], [[0.1, -0.1]], [[0.0, 0.0]])
        >>> x, mask = jetnet_features(hv.physics.from_padded(p4, np.ones((1, 2), bool)), 3)
        >>> x.shape, mask.tolist(), round(float(x[0, :, 2].sum()), 6)
        ((1, 3, 3), [[True, True, False]], 1.0)
    """
    rel = to_relative(jets)
    counts = ak.to_numpy(ak.num(rel, axis=1))
    size = int(counts.max(initial=0)) if max_particles is None else int(max_particles)
    if counts.size and counts.max() > size:
        bad = int(np.argmax(counts > size))
        msg = f"jet {bad} has {int(counts[bad])} particles, more than max_particles={size}"
        raise ValueError(msg)
    mask = np.arange(size)[None, :] < counts[:, None]
    features = np.zeros((counts.size, size, 3))
    for k, name in enumerate(PARTICLE_FEATURES):
        flat = ak.to_numpy(ak.flatten(rel[name], axis=1)).astype(np.float64)
        if not np.all(np.isfinite(flat)):
            jet = int(np.repeat(np.arange(counts.size), counts)[np.argmax(~np.isfinite(flat))])
            msg = f"jet {jet}: particle feature {name!r} is not finite"
            raise ValueError(msg)
        features[..., k][mask] = flat
    return features, mask


def _as_features(features: Any, mask: Any) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 3 or x.shape[2] < 3:
        msg = f"expected JetNet features [N, P, 3] (eta_rel, phi_rel, pt_rel), got {x.shape}"
        raise ValueError(msg)
    x = x[..., :3]
    nonzero = np.linalg.norm(x, axis=2) != 0  # JetNet's exclude_zeros
    m = nonzero if mask is None else np.asarray(mask, bool).reshape(x.shape[:2]) & nonzero
    return np.where(m[..., None], x, 0.0), m


def relative_mass(features: Any, mask: Any = None) -> np.ndarray:
    r"""Jet mass over jet :math:`p_T` from massless particles in relative coordinates.

    Each particle is the massless 4-vector of ``(pt_rel, eta_rel, phi_rel)``; the
    result is the invariant mass of their sum (JetNet's ``utils.jet_features``).

    Examples:
        >>> x = np.array([[[0.0, 0.0, 0.5], [0.0, 0.2, 0.5]]])
        >>> relative_mass(x).round(3).tolist()  # ~ sqrt(z1 z2) dR = 0.5 * 0.2
        [0.1]
    """
    x, m = _as_features(features, mask)
    pt = np.where(m, x[..., 2], 0.0)
    eta, phi = x[..., 0], x[..., 1]
    e = (pt * np.cosh(eta)).sum(axis=1)
    px = (pt * np.cos(phi)).sum(axis=1)
    py = (pt * np.sin(phi)).sum(axis=1)
    pz = (pt * np.sinh(eta)).sum(axis=1)
    mass: np.ndarray = np.sqrt(np.maximum(e**2 - px**2 - py**2 - pz**2, 0.0))
    return mass


# ----------------------------------------------------------------------------- W1
def _batch_size(n_real: int, n_gen: int, num_eval_samples: int) -> int:
    if n_real == 0 or n_gen == 0:
        msg = f"need jets in both samples, got {n_real} real and {n_gen} generated"
        raise ValueError(msg)
    return min(int(num_eval_samples), n_real, n_gen)


def w1_batches(
    real: Any,
    gen: Any,
    num_eval_samples: int = 50_000,
    num_batches: int = 5,
    seed: int = 42,
) -> tuple[float, float] | tuple[np.ndarray, np.ndarray]:
    """W1 of per-jet values over batches drawn with replacement (JetNet's sampling).

    Arguments:
        real, gen: ``[N]`` or ``[N, F]`` per-jet values (one W1 per column).
        num_eval_samples: Jets per batch, capped at the smaller sample.
        num_batches: Number of batches.
        seed: Seed of the generator drawing the batches.

    Returns:
        ``(mean, std)`` over batches, float or ``[F]`` arrays.

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> a, b = rng.normal(0, 1, 20_000), rng.normal(0.5, 1, 20_000)
        >>> mean, std = w1_batches(a, b)
        >>> bool(abs(mean - 0.5) < 0.03), bool(std < 0.02)
        (True, True)
    """
    if np.ndim(real) == 1:
        return _w1_scalar(real, gen, num_eval_samples, num_batches, seed)
    return _w1_columns(real, gen, num_eval_samples, num_batches, seed)


def _w1_columns(
    real: Any, gen: Any, num_eval_samples: int, num_batches: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`w1_batches` of ``[N]`` or ``[N, F]`` values as ``[F]`` arrays."""
    a, b = np.asarray(real, dtype=np.float64), np.asarray(gen, dtype=np.float64)
    a2, b2 = (a[:, None], b[:, None]) if a.ndim == 1 else (a, b)
    size = _batch_size(len(a2), len(b2), num_eval_samples)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(num_batches):
        i, j = rng.choice(len(a2), size=size), rng.choice(len(b2), size=size)
        values.append([wasserstein_distance(a2[i, k], b2[j, k]) for k in range(a2.shape[1])])
    return np.mean(values, axis=0), np.std(values, axis=0)


def _w1_scalar(
    real: Any, gen: Any, num_eval_samples: int, num_batches: int, seed: int
) -> tuple[float, float]:
    """:func:`w1_batches` of ``[N]`` values as floats."""
    mean, std = _w1_columns(real, gen, num_eval_samples, num_batches, seed)
    return float(mean[0]), float(std[0])


def w1m(
    real: Any,
    gen: Any,
    mask_real: Any = None,
    mask_gen: Any = None,
    num_eval_samples: int = 50_000,
    num_batches: int = 5,
    seed: int = 42,
) -> tuple[float, float]:
    """W1 between relative jet masses (JetNet ``w1m``), ``(mean, std)`` over batches.

    Arguments:
        real, gen: JetNet features ``[N, P, 3]`` (see :func:`jetnet_features`).
        mask_real, mask_gen: Optional particle masks ``[N, P]``.

    Examples:
        >>> rng = np.random.default_rng(1)
        >>> x = rng.normal(0, 0.1, (500, 10, 3)); x[..., 2] = 0.1
        >>> mean, std = w1m(x, x * [1.5, 1.5, 1.0])  # wider jets are heavier
        >>> bool(mean > 10 * std)
        True
    """
    return _w1_scalar(
        relative_mass(real, mask_real),
        relative_mass(gen, mask_gen),
        num_eval_samples,
        num_batches,
        seed,
    )


def w1p(
    real: Any,
    gen: Any,
    mask_real: Any = None,
    mask_gen: Any = None,
    num_eval_samples: int = 50_000,
    num_batches: int = 5,
    seed: int = 42,
) -> tuple[np.ndarray, np.ndarray]:
    """W1 of each particle feature over the particles of batches of jets (JetNet ``w1p``).

    Particles that are masked, or whose three features are all zero (JetNet's
    ``exclude_zeros``), are left out.

    Returns:
        Per-feature ``(means[3], stds[3])`` for ``(eta_rel, phi_rel, pt_rel)``.

    Examples:
        >>> rng = np.random.default_rng(2)
        >>> x = rng.normal(0, 0.1, (800, 10, 3))
        >>> means, stds = w1p(x, x + [0.05, 0, 0])
        >>> means.round(2).tolist()
        [0.05, 0.0, 0.0]
    """
    x1, m1 = _as_features(real, mask_real)
    x2, m2 = _as_features(gen, mask_gen)
    size = _batch_size(len(x1), len(x2), num_eval_samples)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(num_batches):
        i, j = rng.choice(len(x1), size=size), rng.choice(len(x2), size=size)
        p1, p2 = x1[i][m1[i]], x2[j][m2[j]]
        if len(p1) == 0 or len(p2) == 0:
            values.append([np.inf] * 3)
            continue
        values.append([wasserstein_distance(p1[:, k], p2[:, k]) for k in range(3)])
    return np.mean(values, axis=0), np.std(values, axis=0)


def w1efp(
    real: Any,
    gen: Any,
    mask_real: Any = None,
    mask_gen: Any = None,
    num_eval_samples: int = 50_000,
    num_batches: int = 5,
    seed: int = 42,
) -> tuple[np.ndarray, np.ndarray]:
    """W1 of each of the 5 EFPs with 4 vertices and 4 edges (JetNet ``w1efp`` default).

    EFPs use the hadronic measure with :math:`\\beta = 1` on ``pt_rel`` (see
    :func:`hypervae.evaluation.efp.efps`).

    Returns:
        Per-EFP ``(means[5], stds[5])``.

    Examples:
        >>> rng = np.random.default_rng(3)
        >>> x = np.abs(rng.normal(0, 0.1, (300, 8, 3)))
        >>> means, stds = w1efp(x, x * [2.0, 2.0, 1.0])  # angles doubled: EFPs x 2**4
        >>> means.shape, bool(np.all(means > 3 * stds))
        ((5,), True)
    """
    x1, m1 = _as_features(real, mask_real)
    x2, m2 = _as_features(gen, mask_gen)
    return _w1_columns(
        efps(x1, m1, W1EFP_GRAPHS), efps(x2, m2, W1EFP_GRAPHS), num_eval_samples, num_batches, seed
    )


# ---------------------------------------------------------------------- FPD / KPD

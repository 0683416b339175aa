r"""JetNet-protocol metrics of generated jets: W1M, W1P, W1EFP, FPD, KPD, and more.

The JetNet protocol compares real and generated jets in relative coordinates
``(eta_rel, phi_rel, pt_rel)`` (:func:`jetnet_features`):

* **W1M** -- 1-Wasserstein distance between the relative jet masses :math:`m/p_{T,jet}`
  computed from massless particles (:func:`relative_mass`);
* **W1P** -- W1 of each particle feature over all real (unmasked) particles;
* **W1EFP** -- W1 of each of the 5 EFPs with 4 vertices and 4 edges (:mod:`.efp`);
* **FPD** -- Fréchet distance of the 36 EFPs with at most 4 edges, extrapolated to
  infinite sample size (:func:`fpd`);
* **KPD** -- unbiased MMD² with a polynomial kernel on the same features (:func:`kpd`).

W1 metrics draw ``num_batches`` (5) batches of ``num_eval_samples`` (50,000, capped at the
smaller sample) jets with replacement from a seeded generator and return
``(mean, std)`` over batches. :func:`evaluate` adds W1 of the multiplicity, of jet
:math:`p_T`, :math:`\eta` and mass (GeV, from the particle sums), of the projected 2- and
3-point EEC (in :math:`\ln R_L`) and the jet-type fractions. ``docs/evaluation.md``
lists where this follows the ``jetnet`` package exactly and where it deviates.

References:
    | Kansal et al., Particle Cloud Generation with Message Passing Generative
    | Adversarial Networks, NeurIPS 2021, https://arxiv.org/abs/2106.11535
    | Kansal et al., Evaluating generative models in high energy physics,
    | Phys. Rev. D 107 (2023) 076017, https://arxiv.org/abs/2211.10295
    | Chong, Forsyth, Effectively Unbiased FID and Inception Score and where to find
    | them, CVPR 2020, https://arxiv.org/abs/1911.07023
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import awkward as ak
import numpy as np
from scipy.optimize import curve_fit
from scipy.stats import iqr, wasserstein_distance

from .._compat import renamed_arguments
from ..datasets.checks import check_jets
from ..datasets.jets import JET_TYPES
from ..physics.eec import DEFAULT_RANGE, bin_edges, eec
from ..physics.kinematics import cartesian_to_ptetaphim, jet_p4, particles_of, to_relative
from .efp import FPD_GRAPHS, W1EFP_GRAPHS, efps

__all__ = [
    "PARTICLE_FEATURES",
    "SCALES",
    "evaluate",
    "format_metrics",
    "fpd",
    "frechet_distance",
    "jet_observables",
    "jetnet_features",
    "kpd",
    "mmd_poly_unbiased",
    "relative_mass",
    "w1_batches",
    "w1_eec",
    "w1efp",
    "w1m",
    "w1p",
]

PARTICLE_FEATURES = ("eta_rel", "phi_rel", "pt_rel")

#: Display scale of each metric in :func:`evaluate` (value shown = raw / scale).
SCALES: dict[str, float] = {"w1m": 1e-3, "w1p": 1e-3, "w1efp": 1e-5, "fpd": 1e-3, "kpd": 1e-3}

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
def frechet_distance(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any) -> float:
    r"""Fréchet distance between Gaussians,
    :math:`|\mu_1 - \mu_2|^2 + \mathrm{Tr}(\Sigma_1 + \Sigma_2 - 2 (\Sigma_1 \Sigma_2)^{1/2})`.

    The trace of the matrix square root is the sum of the square roots of the
    (real, non-negative) eigenvalues of :math:`\Sigma_1 \Sigma_2`.

    Examples:
        >>> frechet_distance([0.0, 0.0], np.eye(2), [3.0, 4.0], 4 * np.eye(2))
        27.0
    """
    mu1, mu2 = np.atleast_1d(mu1).astype(float), np.atleast_1d(mu2).astype(float)
    s1, s2 = np.atleast_2d(sigma1).astype(float), np.atleast_2d(sigma2).astype(float)
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        msg = f"shape mismatch: mu {mu1.shape} {mu2.shape}, sigma {s1.shape} {s2.shape}"
        raise ValueError(msg)
    eig = np.linalg.eigvals(s1 @ s2)
    tr_sqrt = np.sqrt(np.clip(eig.real, 0.0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt)


def _normalise(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scale = np.max(np.abs(x), axis=0)
    scale[scale == 0] = 1.0
    return x / scale, y / scale


def _linear(x: np.ndarray, intercept: float, slope: float) -> np.ndarray:
    return intercept + slope * x


def _features_2d(real: Any, gen: Any) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(real, dtype=np.float64), np.asarray(gen, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        msg = f"expected features [N, F] with the same F, got {x.shape} and {y.shape}"
        raise ValueError(msg)
    for name, arr in (("real", x), ("generated", y)):
        if not np.all(np.isfinite(arr)):
            bad = int(np.argmax(~np.all(np.isfinite(arr), axis=1)))
            msg = f"{name} features of jet {bad} are not finite"
            raise ValueError(msg)
    return x, y


@renamed_arguments(normalise="normalize")
def fpd(
    real_features: Any,
    gen_features: Any,
    min_samples: int = 20_000,
    max_samples: int = 50_000,
    num_batches: int = 20,
    num_points: int = 10,
    normalize: bool = True,
    seed: int = 42,
) -> tuple[float, float]:
    """Fréchet physics distance extrapolated to infinite sample size (JetNet ``fpd``).

    Features are divided by the maximum absolute real value of each feature. For
    ``num_points`` batch sizes evenly spaced in :math:`1/N` between ``min_samples`` and
    ``max_samples``, the Fréchet distance is averaged over ``num_batches`` pairs of
    batches drawn with replacement; a straight line in :math:`1/N` with non-negative
    intercept and slope is fitted and its intercept is returned with the fit error.
    With fewer jets than ``max_samples``, ``max_samples`` becomes the smaller sample
    size and ``min_samples`` shrinks in proportion.

    Returns:
        ``(value, error)``.

    Examples:
        >>> rng = np.random.default_rng(4)
        >>> a, b = rng.normal(0, 1, (3000, 3)), rng.normal(0, 1, (3000, 3))
        >>> value, error = fpd(a, b, num_batches=4, num_points=4)
        >>> bool(value < 0.01)
        True
    """
    x, y = _features_2d(real_features, gen_features)
    if normalize:
        x, y = _normalise(x, y)
    available = min(len(x), len(y))
    if available < max_samples:
        min_samples = max(2, int(min_samples * available / max_samples))
        max_samples = available
    if min_samples < 2:
        msg = f"need at least 2 jets per batch for a covariance, got {available}"
        raise ValueError(msg)
    sizes = (1 / np.linspace(1.0 / min_samples, 1.0 / max_samples, num_points)).astype("int32")
    rng = np.random.default_rng(seed)
    means = []
    for size in sizes:
        vals = []
        for _ in range(num_batches):
            a = x[rng.choice(len(x), size=size)]
            b = y[rng.choice(len(y), size=size)]
            vals.append(
                frechet_distance(
                    a.mean(axis=0), np.cov(a, rowvar=False), b.mean(axis=0), np.cov(b, rowvar=False)
                )
            )
        means.append(np.mean(vals))
    params, cov = curve_fit(
        _linear, 1.0 / sizes, np.asarray(means), bounds=([0, 0], [np.inf, np.inf])
    )
    return float(params[0]), float(np.sqrt(np.diag(cov)[0]))


def mmd_poly_unbiased(x: Any, y: Any, degree: int = 4, block: int = 2048) -> float:
    r"""Unbiased MMD² with the kernel :math:`k(a, b) = (a \cdot b / d + 1)^{degree}`.

    :math:`\frac{1}{m(m-1)} \sum_{i \ne j} k(x_i, x_j) + \frac{1}{n(n-1)} \sum_{i \ne j}
    k(y_i, y_j) - \frac{2}{mn} \sum_{i, j} k(x_i, y_j)`, computed in blocks of rows.

    Examples:
        >>> x = np.array([[0.0], [1.0]]); y = np.array([[0.0], [2.0]])
        >>> mmd_poly_unbiased(x, y, degree=1)  # k(a, b) = ab + 1: 1 + 1 - 2 * 1.5
        -1.0
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    d = x.shape[1]

    def kernel_sum(a: np.ndarray, b: np.ndarray) -> float:
        return float(
            sum(
                (((a[lo : lo + block] @ b.T) / d + 1.0) ** degree).sum()
                for lo in range(0, len(a), block)
            )
        )

    m, n = len(x), len(y)
    if m < 2 or n < 2:
        msg = f"unbiased MMD needs at least 2 samples each, got {m} and {n}"
        raise ValueError(msg)
    diag_x = (((x * x).sum(axis=1) / d + 1.0) ** degree).sum()
    diag_y = (((y * y).sum(axis=1) / d + 1.0) ** degree).sum()
    xx = (kernel_sum(x, x) - diag_x) / (m * (m - 1))
    yy = (kernel_sum(y, y) - diag_y) / (n * (n - 1))
    return float(xx + yy - 2.0 * kernel_sum(x, y) / (m * n))


@renamed_arguments(normalise="normalize")
def kpd(
    real_features: Any,
    gen_features: Any,
    num_batches: int = 10,
    batch_size: int = 5_000,
    normalize: bool = True,
    seed: int = 42,
    degree: int = 4,
) -> tuple[float, float]:
    """Kernel physics distance (JetNet ``kpd``): median and error of batched MMD².

    Features are normalised as in :func:`fpd`; batch ``i`` draws ``batch_size`` jets
    with replacement from each sample with a generator seeded ``seed + 1000 i``; the
    error is half the 16.275-83.725 percentile range. ``degree=4`` is what the jetnet
    code uses (the paper describes the cubic kernel of KID); ``batch_size`` is capped at
    the smaller sample.

    Returns:
        ``(median, error)``.

    Examples:
        >>> rng = np.random.default_rng(5)
        >>> a, b = rng.normal(0, 1, (2000, 3)), rng.normal(0, 1, (2000, 3))
        >>> value, error = kpd(a, b, num_batches=4, batch_size=500)
        >>> bool(abs(value) < 3 * error + 1e-3)
        True
    """
    x, y = _features_2d(real_features, gen_features)
    if normalize:
        x, y = _normalise(x, y)
    size = min(int(batch_size), len(x), len(y))
    values = []
    for i in range(num_batches):
        rng = np.random.default_rng(seed + i * 1000)
        a = x[rng.choice(len(x), size=size)]
        b = y[rng.choice(len(y), size=size)]
        values.append(mmd_poly_unbiased(a, b, degree=degree))
    return float(np.median(values)), float(iqr(values, rng=(16.275, 83.725)) / 2)


# ------------------------------------------------------------ physical observables
def jet_observables(jets: Any) -> dict[str, np.ndarray]:
    """Per-jet ``pt``, ``eta``, ``mass`` (GeV, of the particle sum) and ``multiplicity``.

    The sum of the stored particles is used for real and generated jets alike (real
    jets' clustered values include constituents beyond the stored ones).

    Examples:
        >>> import hypervae as hv
        >>> p4 = hv.physics.ptetaphim_to_cartesian([[3.0, 4.0]], [[0.0, 0.0]], [[0.0, 1.5708]])
        >>> obs = jet_observables(hv.physics.from_padded(p4, np.ones((1, 2), bool)))
        >>> round(float(obs["pt"][0]), 3), int(obs["multiplicity"][0])
        (5.0, 2)
    """
    particles = particles_of(jets)
    pt, eta, _, mass = cartesian_to_ptetaphim(jet_p4(particles))
    return {
        "pt": pt,
        "eta": eta,
        "mass": mass,
        "multiplicity": ak.to_numpy(ak.num(particles, axis=1)).astype(np.float64),
    }


def w1_eec(
    real_hists: Any,
    gen_hists: Any,
    edges: Any,
    num_eval_samples: int = 50_000,
    num_batches: int = 5,
    seed: int = 42,
) -> tuple[float, float]:
    r"""W1 in :math:`\ln R_L` between mean per-jet EEC histograms of batches of jets.

    Each batch's histograms (from :func:`hypervae.physics.eec`, not density) are
    averaged over jets and treated as weights at the bin centres in :math:`\ln R_L`.

    Examples:
        >>> e = np.exp([0.0, 1.0, 2.0])
        >>> w1_eec(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]), e, num_batches=1)
        (1.0, 0.0)
    """
    a, b = np.asarray(real_hists, dtype=np.float64), np.asarray(gen_hists, dtype=np.float64)
    log_edges = np.log(np.asarray(edges, dtype=np.float64))
    centres = 0.5 * (log_edges[1:] + log_edges[:-1])
    size = _batch_size(len(a), len(b), num_eval_samples)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(num_batches):
        wa = a[rng.choice(len(a), size=size)].mean(axis=0)
        wb = b[rng.choice(len(b), size=size)].mean(axis=0)
        if wa.sum() <= 0 or wb.sum() <= 0:
            values.append(np.inf)
            continue
        values.append(wasserstein_distance(centres, centres, wa, wb))
    return float(np.mean(values)), float(np.std(values))


def _type_fractions(jets: Any) -> dict[str, float] | None:
    if not isinstance(jets, ak.Array) or "jet_type" not in ak.fields(jets):
        return None
    codes = ak.to_numpy(jets["jet_type"]).astype(int)
    return {
        name: float(np.mean(codes == k)) if codes.size else 0.0 for k, name in enumerate(JET_TYPES)
    }


def _entry(mean: float, std: float, scale: float = 1.0, unit: str = "") -> dict[str, Any]:
    return {"mean": float(mean), "std": float(std), "scale": scale, "unit": unit}


def evaluate(
    real: Any,
    gen: Any,
    num_eval_samples: int = 50_000,
    num_batches: int = 5,
    seed: int = 42,
    eec_n: Sequence[int] = (2, 3),
    eec_bins: int = 40,
    eec_range: tuple[float, float] = DEFAULT_RANGE,
    fpd_kwargs: dict[str, Any] | None = None,
    kpd_kwargs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """All metrics of generated against real jets (JetNet protocol plus physical ones).

    Arguments:
        real, gen: Jets (layout of :func:`hypervae.datasets.make_jets`, physical units)
            or bare particle lists, validated with :func:`hypervae.datasets.check_jets`
            (bad input raises naming ``evaluate(real)`` or ``evaluate(gen)``, the field
            and the jet).
        num_eval_samples, num_batches, seed: Sampling of the W1 metrics.
        eec_n: EEC orders whose W1 is computed (empty for none).
        eec_bins, eec_range: Histogram of the EEC in :math:`R_L`.
        fpd_kwargs, kpd_kwargs: Overrides for :func:`fpd` and :func:`kpd`.

    Returns:
        A JSON-serialisable dict. Distances are ``{"mean", "std", "scale", "unit"}``
        with raw values (``scale`` is the display unit, e.g. 1e-3 for W1M); FPD and KPD
        are ``{"value", "error", "scale"}``; ``w1p``/``w1efp`` also carry per-feature
        entries; ``jet_type_fractions`` has ``real`` and ``generated`` dicts.

    Examples:
        >>> import hypervae as hv
        >>> from hypervae.physics import from_padded, ptetaphim_to_cartesian
        >>> rng = np.random.default_rng(0)
        >>> def jets(seed):
        ...     r = np.random.default_rng(seed)
        ...     p4 = ptetaphim_to_cartesian(r.exponential(30, (60, 8)) + 1,
        ...                                 r.normal(0, 0.1, (60, 8)), r.normal(0, 0.1, (60, 8)))
        ...     return hv.datasets.make_jets(from_padded(p4, np.ones((60, 8), bool)), "q")
        >>> out = evaluate(jets(1), jets(2), eec_n=(2,), kpd_kwargs={"num_batches": 3})
        >>> sorted(out)[:4], out["jet_type_fractions"]["generated"]["q"]
        (['fpd', 'jet_type_fractions', 'kpd', 'n_generated'], 1.0)
    """
    real = check_jets(real, where="evaluate(real)")
    gen = check_jets(gen, where="evaluate(gen)")
    xr, mr = jetnet_features(real)
    xg, mg = jetnet_features(gen)
    sampling = {"num_eval_samples": num_eval_samples, "num_batches": num_batches, "seed": seed}
    out: dict[str, Any] = {"n_real": len(xr), "n_generated": len(xg), "sampling": sampling}

    out["w1m"] = _entry(*w1m(xr, xg, mr, mg, **sampling), SCALES["w1m"])
    means, stds = w1p(xr, xg, mr, mg, **sampling)
    out["w1p"] = _entry(np.mean(means), np.linalg.norm(stds) / len(stds), SCALES["w1p"])
    out["w1p"]["per_feature"] = {
        name: _entry(means[k], stds[k], SCALES["w1p"]) for k, name in enumerate(PARTICLE_FEATURES)
    }

    xr0, mr0 = _as_features(xr, mr)
    xg0, mg0 = _as_features(xg, mg)
    efp_real, efp_gen = efps(xr0, mr0, FPD_GRAPHS), efps(xg0, mg0, FPD_GRAPHS)
    means, stds = _w1_columns(efp_real[:, _W1EFP_COLUMNS], efp_gen[:, _W1EFP_COLUMNS], **sampling)
    out["w1efp"] = _entry(np.mean(means), np.linalg.norm(stds) / len(stds), SCALES["w1efp"])
    out["w1efp"]["per_efp"] = [
        _entry(m, s, SCALES["w1efp"]) for m, s in zip(means, stds, strict=True)
    ]
    value, error = fpd(efp_real, efp_gen, **(fpd_kwargs or {}))
    out["fpd"] = {"value": value, "error": error, "scale": SCALES["fpd"]}
    value, error = kpd(efp_real, efp_gen, **(kpd_kwargs or {}))
    out["kpd"] = {"value": value, "error": error, "scale": SCALES["kpd"]}

    obs_r, obs_g = jet_observables(real), jet_observables(gen)
    for key, unit in (("multiplicity", "particles"), ("pt", "GeV"), ("eta", ""), ("mass", "GeV")):
        name = "w1_multiplicity" if key == "multiplicity" else f"w1_jet_{key}"
        out[name] = _entry(*_w1_scalar(obs_r[key], obs_g[key], **sampling), 1.0, unit)
    edges = bin_edges(eec_bins, eec_range)
    for n in eec_n:
        hr = eec(particles_of(real), n=n, bins=edges)
        hg = eec(particles_of(gen), n=n, bins=edges)
        out[f"w1_eec{n}"] = _entry(*w1_eec(hr, hg, edges, **sampling), 1.0, "ln R_L")
    out["jet_type_fractions"] = {"real": _type_fractions(real), "generated": _type_fractions(gen)}
    return out


def format_metrics(metrics: dict[str, Any]) -> str:
    """A human-readable table of :func:`evaluate`'s output (values in display units).

    Examples:
        >>> print(format_metrics({"w1m": {"mean": 1e-3, "std": 2e-4, "scale": 1e-3, "unit": ""}}))
        w1m                 1.0000 ± 0.2000  (x1e-03)
    """
    lines = []
    for key, entry in metrics.items():
        if not isinstance(entry, dict):
            continue
        if "mean" in entry:
            value, error = entry["mean"], entry["std"]
        elif "value" in entry:
            value, error = entry["value"], entry["error"]
        else:
            continue
        scale = entry.get("scale", 1.0)
        unit = (
            f"  (x{scale:.0e})"
            if scale != 1.0
            else (f"  [{entry['unit']}]" if entry.get("unit") else "")
        )
        lines.append(f"{key:<18} {value / scale:>7.4f} ± {error / scale:.4f}{unit}")
    fractions = metrics.get("jet_type_fractions") or {}
    for side in ("real", "generated"):
        if fractions.get(side):
            text = " ".join(f"{k}={v:.3f}" for k, v in fractions[side].items())
            lines.append(f"{'types ' + side:<18} {text}")
    return "\n".join(lines)

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
from scipy.stats import wasserstein_distance

from ..datasets.checks import check_jets
from ..datasets.jets import JET_TYPES
from ..physics.eec import DEFAULT_RANGE, bin_edges, eec
from ..physics.kinematics import cartesian_to_ptetaphim, jet_p4, particles_of
from .distances import fpd, frechet_distance, kpd, mmd_poly_unbiased
from .efp import FPD_GRAPHS, efps
from .wasserstein import (
    _W1EFP_COLUMNS,
    PARTICLE_FEATURES,
    _as_features,
    _batch_size,
    _w1_columns,
    _w1_scalar,
    jetnet_features,
    relative_mass,
    w1_batches,
    w1efp,
    w1m,
    w1p,
)

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

#: Display scale of each metric in :func:`evaluate` (value shown = raw / scale).
SCALES: dict[str, float] = {"w1m": 1e-3, "w1p": 1e-3, "w1efp": 1e-5, "fpd": 1e-3, "kpd": 1e-3}


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

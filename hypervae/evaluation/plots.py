r"""Plots of generated against real jets, each with a generated/real ratio panel.

* :func:`plot_particle_features` -- ``eta_rel``, ``phi_rel``, ``pt_rel`` (JetNet);
* :func:`plot_jet_features` -- jet :math:`p_T`, :math:`\eta`, mass (GeV, particle sums);
* :func:`plot_multiplicity` -- number of particles per jet;
* :func:`plot_eec` -- projected N-point EEC, :math:`R_L\,d\Sigma/dR_L = d\Sigma/d\ln R_L`
  averaged over jets;
* :func:`plot_all` -- all of the above written to a directory (atomic writes).

Figures are made with matplotlib's object API (no global pyplot state, Agg canvas),
in the mplhep CMS style when ``mplhep`` is installed.

References:
    | Kansal et al., Particle Cloud Generation with Message Passing GANs, NeurIPS 2021,
    | https://arxiv.org/abs/2106.11535 (figures of the JetNet protocol)
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write
from .._optional import require

require("matplotlib", "plot", "hypervae.evaluation.plots")
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..physics.eec import DEFAULT_RANGE, bin_edges, eec
from ..physics.kinematics import particles_of
from .metrics import PARTICLE_FEATURES, jet_observables, jetnet_features

__all__ = [
    "plot_all",
    "plot_eec",
    "plot_jet_features",
    "plot_multiplicity",
    "plot_particle_features",
    "save_figure",
]

_REAL = {"color": "black", "label": "Real"}
_GEN = {"color": "tab:red", "label": "Generated"}
_LABELS = {
    "eta_rel": r"Particle $\eta^{\mathrm{rel}}$",
    "phi_rel": r"Particle $\phi^{\mathrm{rel}}$",
    "pt_rel": r"Particle $p_T^{\mathrm{rel}}$",
    "pt": r"Jet $p_T$ [GeV]",
    "eta": r"Jet $\eta$",
    "mass": r"Jet mass [GeV]",
}


@contextlib.contextmanager
def _style() -> Iterator[None]:
    try:
        mplhep = importlib.import_module("mplhep")
    except ImportError:
        yield
        return
    import matplotlib as mpl

    with mpl.rc_context(mplhep.style.CMS):
        yield


def _figure(n_cols: int) -> tuple[Figure, np.ndarray]:
    fig = Figure(figsize=(5.0 * n_cols, 5.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(
        2, n_cols, sharex="col", gridspec_kw={"height_ratios": [3, 1]}, squeeze=False
    )
    return fig, axes


def _edges(real: np.ndarray, gen: np.ndarray, bins: int, log: bool = False) -> np.ndarray:
    both = np.concatenate([real, gen])
    both = both[np.isfinite(both)]
    if log:
        both = both[both > 0]
    if both.size == 0:
        return np.linspace(0.0, 1.0, bins + 1)
    lo, hi = np.quantile(both, [0.001, 0.999])
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    if log:
        return np.geomspace(lo, hi, bins + 1)
    return np.linspace(lo, hi, bins + 1)


def _compare(
    ax: Any,
    ax_ratio: Any,
    centres: np.ndarray,
    edges: np.ndarray,
    real: np.ndarray,
    gen: np.ndarray,
    real_err: np.ndarray,
    xlabel: str,
    ylabel: str,
    logx: bool = False,
) -> None:
    ax.stairs(real, edges, **_REAL)
    ax.stairs(gen, edges, **_GEN)
    ax.stairs(
        real + real_err, edges, baseline=real - real_err, fill=True, color="black", alpha=0.15
    )
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(real > 0, gen / real, np.nan)
        band = np.where(real > 0, real_err / real, np.nan)
    ax_ratio.stairs(1 + band, edges, baseline=1 - band, fill=True, color="grey", alpha=0.3)
    ax_ratio.plot(centres, ratio, "o", color=_GEN["color"], markersize=3)
    ax_ratio.axhline(1.0, color="black", lw=0.8)
    ax_ratio.set_ylim(0.5, 1.5)
    ax_ratio.set_ylabel("Gen / Real")
    ax_ratio.set_xlabel(xlabel)
    if logx:
        ax.set_xscale("log")


def _hist_compare(
    ax: Any,
    ax_ratio: Any,
    real: np.ndarray,
    gen: np.ndarray,
    edges: np.ndarray,
    key: str,
    logx: bool = False,
    logy: bool = False,
) -> None:
    hr, _ = np.histogram(real, edges)
    hg, _ = np.histogram(gen, edges)
    width = np.diff(edges)
    nr, ng = max(hr.sum(), 1), max(hg.sum(), 1)
    density_r, density_g = hr / nr / width, hg / ng / width
    err_r = np.sqrt(hr) / nr / width
    centres = np.sqrt(edges[1:] * edges[:-1]) if logx else 0.5 * (edges[1:] + edges[:-1])
    _compare(
        ax,
        ax_ratio,
        centres,
        edges,
        density_r,
        density_g,
        err_r,
        _LABELS.get(key, key),
        "Density",
        logx,
    )
    if logy:
        ax.set_yscale("log")


def plot_particle_features(real: Any, gen: Any, bins: int = 50) -> Figure:
    """Histograms of ``eta_rel``, ``phi_rel``, ``pt_rel`` over all real particles.

    Examples:
        >>> import hypervae as hv
        >>> rng = np.random.default_rng(0)
        >>> p4 = hv.physics.ptetaphim_to_cartesian(rng.exponential(20, (50, 6)) + 1,
        ...     rng.normal(0, 0.2, (50, 6)), rng.normal(0, 0.2, (50, 6)))
        >>> jets = hv.physics.from_padded(p4, np.ones((50, 6), bool))
        >>> len(plot_particle_features(jets, jets).axes)
        6
    """
    xr, mr = jetnet_features(real)
    xg, mg = jetnet_features(gen)
    with _style():
        fig, axes = _figure(3)
        for k, key in enumerate(PARTICLE_FEATURES):
            a, b = xr[..., k][mr], xg[..., k][mg]
            log = key == "pt_rel"
            _hist_compare(axes[0, k], axes[1, k], a, b, _edges(a, b, bins, log), key, log, log)
    return fig


def plot_jet_features(real: Any, gen: Any, bins: int = 50) -> Figure:
    """Histograms of jet pT, eta and mass (GeV, from the particle sums).

    Examples:
        >>> import hypervae as hv
        >>> rng = np.random.default_rng(0)
        >>> p4 = hv.physics.ptetaphim_to_cartesian(rng.exponential(20, (50, 6)) + 1,
        ...     rng.normal(0, 0.2, (50, 6)), rng.normal(0, 0.2, (50, 6)))
        >>> jets = hv.physics.from_padded(p4, np.ones((50, 6), bool))
        >>> [ax.get_xlabel() for ax in plot_jet_features(jets, jets).axes[3:]]
        ['Jet $p_T$ [GeV]', 'Jet $\\\\eta$', 'Jet mass [GeV]']
    """
    obs_r, obs_g = jet_observables(real), jet_observables(gen)
    with _style():
        fig, axes = _figure(3)
        for k, key in enumerate(("pt", "eta", "mass")):
            a, b = obs_r[key], obs_g[key]
            _hist_compare(axes[0, k], axes[1, k], a, b, _edges(a, b, bins), key)
    return fig


def plot_multiplicity(real: Any, gen: Any) -> Figure:
    """Histogram of the number of particles per jet (one bin per integer).

    Examples:
        >>> import hypervae as hv
        >>> p4 = hv.physics.ptetaphim_to_cartesian([[5.0, 1.0]], [[0.0, 0.1]], [[0.0, 0.1]])
        >>> jets = hv.physics.from_padded(p4, np.ones((1, 2), bool))
        >>> plot_multiplicity(jets, jets).axes[1].get_xlabel()
        'Particles per jet'
    """
    a = jet_observables(real)["multiplicity"]
    b = jet_observables(gen)["multiplicity"]
    hi = int(max(a.max(initial=0), b.max(initial=0)))
    edges = np.arange(-0.5, hi + 1.5)
    with _style():
        fig, axes = _figure(1)
        _hist_compare(axes[0, 0], axes[1, 0], a, b, edges, "Particles per jet")
    return fig


def plot_eec(
    real: Any,
    gen: Any,
    n: Sequence[int] = (2, 3),
    bins: int = 40,
    rl_range: tuple[float, float] = DEFAULT_RANGE,
) -> Figure:
    r"""Mean projected N-point EEC per jet, :math:`R_L\,d\Sigma/dR_L` against :math:`R_L`.

    The band is the standard error of the real mean.

    Examples:
        >>> import hypervae as hv
        >>> rng = np.random.default_rng(0)
        >>> p4 = hv.physics.ptetaphim_to_cartesian(rng.exponential(20, (30, 5)) + 1,
        ...     rng.normal(0, 0.2, (30, 5)), rng.normal(0, 0.2, (30, 5)))
        >>> jets = hv.physics.from_padded(p4, np.ones((30, 5), bool))
        >>> plot_eec(jets, jets, n=(2,)).axes[0].get_xscale()
        'log'
    """
    edges = bin_edges(bins, rl_range)
    centres = np.sqrt(edges[1:] * edges[:-1])
    with _style():
        fig, axes = _figure(len(n))
        for k, order in enumerate(n):
            hr = eec(particles_of(real), n=order, bins=edges, density=True)
            hg = eec(particles_of(gen), n=order, bins=edges, density=True)
            err = hr.std(axis=0) / np.sqrt(max(len(hr), 1))
            _compare(
                axes[0, k],
                axes[1, k],
                centres,
                edges,
                hr.mean(axis=0),
                hg.mean(axis=0),
                err,
                r"$R_L$",
                rf"$R_L\,d\Sigma_{{{order}}}/dR_L$",
                logx=True,
            )
    return fig


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Writes a figure atomically (temporary file in the same directory, then rename).

    Examples:
        >>> import tempfile
        >>> fig = Figure(); _ = fig.subplots()
        >>> with tempfile.TemporaryDirectory() as d:
        ...     save_figure(fig, f"{d}/x.png").stat().st_size > 0
        True
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    fmt = path.suffix.lstrip(".") or "png"
    atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt))
    return path


def plot_all(
    real: Any,
    gen: Any,
    out_dir: str | os.PathLike[str],
    formats: Sequence[str] = ("png",),
    eec_n: Sequence[int] = (2, 3),
) -> list[Path]:
    """Writes every comparison plot to ``out_dir``; returns the written paths.

    Files: ``particle_features``, ``jet_features``, ``multiplicity`` and ``eec`` (when
    ``eec_n`` is not empty), one per format.

    Examples:
        >>> import tempfile, hypervae as hv
        >>> rng = np.random.default_rng(0)
        >>> p4 = hv.physics.ptetaphim_to_cartesian(rng.exponential(20, (30, 5)) + 1,
        ...     rng.normal(0, 0.2, (30, 5)), rng.normal(0, 0.2, (30, 5)))
        >>> jets = hv.physics.from_padded(p4, np.ones((30, 5), bool))
        >>> with tempfile.TemporaryDirectory() as d:
        ...     sorted(p.name for p in plot_all(jets, jets, d, eec_n=()))
        ['jet_features.png', 'multiplicity.png', 'particle_features.png']
    """
    figures = {
        "particle_features": plot_particle_features(real, gen),
        "jet_features": plot_jet_features(real, gen),
        "multiplicity": plot_multiplicity(real, gen),
    }
    if eec_n:
        figures["eec"] = plot_eec(real, gen, n=eec_n)
    out = Path(out_dir)
    return [
        save_figure(fig, out / f"{name}.{fmt}") for name, fig in figures.items() for fmt in formats
    ]

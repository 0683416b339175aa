"""``hypervae summary``: load the shipped sample, featurise it and print a summary."""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

import awkward as ak
import numpy as np

from ..physics.eec import eec
from ..physics.pairwise import pairwise
from .jets import JET_TYPES
from .sample import load_sample

__all__ = ["register", "summarize"]


def register(subparsers: Any) -> None:
    """Adds the ``summary`` command."""
    parser = subparsers.add_parser(
        "summary",
        help="featurise the shipped real jets and print a summary table",
        description=(
            "Load the shipped Pythia sample, compute pairwise features and the projected "
            "2- and 3-point energy correlators, and print per-type jet statistics."
        ),
    )
    parser.add_argument(
        "--jet-type", choices=[*JET_TYPES, "all"], default="all", help="jet type (default all)"
    )
    parser.add_argument(
        "--split", choices=["all", "train", "val", "test"], default="test", help="split"
    )
    parser.add_argument(
        "-n", "--n-jets", dest="n_jets", type=int, default=1000, help="jets per type to featurise"
    )
    parser.set_defaults(func=_run)


def summarize(
    jet_type: str, split: str = "test", n_jets: int = 1000, *, n: int | None = None
) -> dict[str, float]:
    """Featurises ``n_jets`` shipped jets of one type and returns summary statistics.

    Arguments:
        jet_type: ``"g"``, ``"q"``, ``"t"``, ``"w"`` or ``"z"``.
        split: Split of the shipped sample.
        n_jets: Jets featurised (at most the split's size).
        n: Deprecated name of ``n_jets``.
    """
    if n is not None:
        warnings.warn(
            "summarize(n=...) is deprecated; use n_jets=...", DeprecationWarning, stacklevel=2
        )
        n_jets = n
    if n_jets < 1:
        msg = f"n_jets must be >= 1, got {n_jets}"
        raise ValueError(msg)
    jets = load_sample(jet_type, split=split)
    sub = jets[:n_jets]
    start = time.perf_counter()
    pairs = pairwise(sub)
    h2 = eec(sub, n=2, density=True)
    h3 = eec(sub, n=3, density=True)
    seconds = time.perf_counter() - start
    centres = np.exp(np.linspace(np.log(1e-4), np.log(2.0), h2.shape[1] + 1))
    centres = np.sqrt(centres[1:] * centres[:-1])
    mass = ak.to_numpy(jets.mass)
    return {
        "jets": float(len(jets)),
        "pt_median": float(np.median(ak.to_numpy(jets.pt))),
        "mass_median": float(np.median(mass)),
        "mass_mode": float(_mode(mass)),
        "mult_mean": float(np.mean(ak.to_numpy(jets.n_particles))),
        "pairs_per_jet": float(np.mean(ak.to_numpy(ak.num(pairs)))),
        "eec2_peak_rl": float(centres[np.argmax(h2.mean(axis=0))]),
        "eec3_peak_rl": float(centres[np.argmax(h3.mean(axis=0))]),
        "jets_per_s": len(sub) / seconds,
    }


def _mode(values: np.ndarray, bins: int = 60) -> float:
    counts, edges = np.histogram(values, bins=bins, range=(0.0, 300.0))
    k = int(np.argmax(counts))
    return float(0.5 * (edges[k] + edges[k + 1]))


def _run(args: argparse.Namespace) -> int:
    types = JET_TYPES if args.jet_type == "all" else (args.jet_type,)
    header = (
        f"{'type':>4} {'jets':>7} {'pT med':>8} {'m med':>7} {'m mode':>7} {'<n>':>6} "
        f"{'pairs':>6} {'EEC2 peak':>9} {'EEC3 peak':>9} {'jets/s':>8}"
    )
    print(f"hypervae shipped sample, split={args.split}, featurising {args.n_jets} jets per type")
    print(header)
    print("-" * len(header))
    for name in types:
        s = summarize(name, split=args.split, n_jets=args.n_jets)
        print(
            f"{name:>4} {int(s['jets']):>7} {s['pt_median']:>8.1f} {s['mass_median']:>7.1f} "
            f"{s['mass_mode']:>7.1f} {s['mult_mean']:>6.1f} {s['pairs_per_jet']:>6.0f} "
            f"{s['eec2_peak_rl']:>9.3f} {s['eec3_peak_rl']:>9.3f} {s['jets_per_s']:>8.0f}"
        )
    print("pT and masses in GeV; EEC peaks in R_L of the mean dSigma/dlnR_L.")
    return 0

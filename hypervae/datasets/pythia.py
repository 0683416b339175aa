r"""Real jets from Pythia 8 and FastJet (the ``pythia`` extra).

One hard process per jet type at :math:`\sqrt{s} = 13` TeV:

====  ===========================================  =========================
type  Pythia process                               parent the jet is matched to
====  ===========================================  =========================
g     ``HardQCD:gg2gg``                            outgoing gluon
q     ``HardQCD:qq2qq``, ``HardQCD:qqbar2qqbarNew``  outgoing light quark (u, d, s)
t     ``Top:gg2ttbar``, ``Top:qqbar2ttbar``, W -> qq  top quark
w     ``WeakDoubleBoson:ffbar2WW``, W -> qq         W boson
z     ``WeakDoubleBoson:ffbar2gmZgmZ`` (Z only), Z -> qq  Z boson
====  ===========================================  =========================

Final-state visible particles (neutrinos removed) are clustered with anti-kT, R = 0.8.
A jet is kept when it lies within ``match_dr`` of a parent in (rapidity, azimuth), has
``pt_window[0] < pT < pt_window[1]`` and ``|eta| < max_eta``; for t, w and z the parent's
decay quarks must also lie within R of the jet axis (``require_contained``), so the
jets are fully merged. Constituents are sorted by decreasing pT and the leading
``max_particles`` are kept; the jet-level fields describe the whole clustered jet.

The same seed gives the same jets (one Pythia instance, ``Random:seed``).

References:
    | Bierlich et al., A comprehensive guide to the physics and usage of PYTHIA 8.3
    | (2022) https://arxiv.org/abs/2203.11601
    | Cacciari, Salam, Soyez, The anti-kt jet clustering algorithm (2008)
    | https://arxiv.org/abs/0802.1189
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import awkward as ak
import numpy as np

from .._compat import renamed_arguments
from .._optional import require
from ..physics.kinematics import cartesian_to_ptetaphim, wrap_phi
from .jets import jet_type_code, jet_type_name, make_jets

__all__ = ["PROCESSES", "configured_pythia", "generate_pythia", "pythia_settings"]

_HADRONIC = ["onMode = off", "onIfAny = 1 2 3 4 5"]

#: Pythia settings and parent PDG ids (absolute values) for each jet type.
PROCESSES: dict[str, dict[str, Any]] = {
    "g": {"settings": ["HardQCD:gg2gg = on"], "parents": (21,), "decays": False},
    "q": {
        "settings": ["HardQCD:qq2qq = on", "HardQCD:qqbar2qqbarNew = on"],
        "parents": (1, 2, 3),
        "decays": False,
    },
    "t": {
        "settings": ["Top:gg2ttbar = on", "Top:qqbar2ttbar = on"] + [f"24:{s}" for s in _HADRONIC],
        "parents": (6,),
        "decays": True,
    },
    "w": {
        "settings": ["WeakDoubleBoson:ffbar2WW = on"] + [f"24:{s}" for s in _HADRONIC],
        "parents": (24,),
        "decays": True,
    },
    "z": {
        "settings": ["WeakDoubleBoson:ffbar2gmZgmZ = on", "WeakZ0:gmZmode = 2"]
        + [f"23:{s}" for s in _HADRONIC],
        "parents": (23,),
        "decays": True,
    },
}

_NEUTRINOS = (12, 14, 16)


def pythia_settings(
    jet_type: str, seed: int, pthat: tuple[float, float] = (800.0, 1300.0), energy: float = 13000.0
) -> list[str]:
    """Pythia configuration strings for one jet type.

    Examples:
        >>> pythia_settings("w", seed=1)[:2]
        ['Beams:eCM = 13000.0', 'PhaseSpace:pTHatMin = 800.0']
    """
    name = jet_type_name(jet_type)
    return [
        f"Beams:eCM = {energy}",
        f"PhaseSpace:pTHatMin = {pthat[0]}",
        f"PhaseSpace:pTHatMax = {pthat[1]}",
        *PROCESSES[name]["settings"],
        "Random:setSeed = on",
        f"Random:seed = {int(seed) % 900_000_000 + 1}",
        "Next:numberCount = 0",
        "Next:numberShowEvent = 0",
        "Next:numberShowInfo = 0",
        "Next:numberShowProcess = 0",
        "Print:quiet = on",
    ]


def _rap_phi(px: float, py: float, pz: float, e: float) -> tuple[float, float]:
    return 0.5 * math.log(max(e + pz, 1e-12) / max(e - pz, 1e-12)), math.atan2(py, px)


def _dr(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.hypot(a[0] - b[0], float(wrap_phi(a[1] - b[1])))


def _parents(
    process: Any, ids: Sequence[int], decays: bool
) -> list[tuple[tuple[float, float], list[tuple[float, float]]]]:
    """Parents in the hard-process record with the (y, phi) of their decay quarks."""
    out = []
    for i in range(process.size()):
        part = process[i]
        if abs(part.id()) not in ids or part.status() in (-21,):
            continue
        if part.status() < 0 and not decays:
            continue
        quarks: list[tuple[float, float]] = []
        if decays:
            stack = [part.daughter1(), part.daughter2()] if part.daughter1() > 0 else []
            seen = set()
            while stack:
                k = stack.pop()
                if k <= 0 or k in seen:
                    continue
                seen.add(k)
                d = process[k]
                if 1 <= abs(d.id()) <= 5 and d.daughter1() == 0:
                    quarks.append(_rap_phi(d.px(), d.py(), d.pz(), d.e()))
                else:
                    stack.extend(range(d.daughter1(), max(d.daughter1(), d.daughter2()) + 1))
            if not quarks:
                continue
        out.append((_rap_phi(part.px(), part.py(), part.pz(), part.e()), quarks))
    return out


def configured_pythia(settings: Sequence[str], what: str = "the process") -> Any:
    """An initialised ``pythia8mc.Pythia`` (extra ``pythia``), checking every step.

    Arguments:
        settings: Pythia configuration strings; a refused one is a ``ValueError``.
        what: What is being configured, quoted when initialisation fails (Pythia then
            prints its reason, e.g. vanishing cross sections).

    Examples:
        >>> pythia = configured_pythia(pythia_settings("z", seed=1))  # doctest: +SKIP
    """
    pythia8 = require("pythia8mc", "pythia", "Pythia event generation")
    pythia = pythia8.Pythia("", False)
    for line in settings:
        if not pythia.readString(line):
            msg = f"Pythia refused the setting {line!r}"
            raise ValueError(msg)
    if not pythia.init():
        msg = f"Pythia failed to initialise {what}"
        raise RuntimeError(msg)
    return pythia


@renamed_arguments(n_particles="max_particles")
def generate_pythia(
    jet_type: str | int,
    n_jets: int,
    max_particles: int = 30,
    seed: int = 1,
    pt_window: tuple[float, float] = (900.0, 1100.0),
    pthat: tuple[float, float] = (800.0, 1300.0),
    radius: float = 0.8,
    match_dr: float = 0.8,
    max_eta: float = 2.5,
    require_contained: bool = True,
    max_events: int | None = None,
    progress: bool = True,
    settings: Sequence[str] = (),
) -> ak.Array:
    """Generates jets of one type with Pythia 8 and FastJet.

    Arguments:
        jet_type: ``"g"``, ``"q"``, ``"t"``, ``"w"``, ``"z"`` (or a code 0-4).
        n_jets: Number of jets to return.
        max_particles: Leading constituents kept per jet (jets with fewer keep all;
            ``n_particles=`` is a deprecated alias).
        seed: Pythia's random seed; the same seed gives the same jets.
        pt_window: Accepted jet pT range in GeV.
        pthat: Pythia's hard-process pT-hat range in GeV.
        radius: Anti-kT radius.
        match_dr: Maximal (y, phi) distance between jet and parent.
        max_eta: Maximal absolute jet pseudorapidity.
        require_contained: For t, w, z, demand that the parent's decay quarks lie
            within ``radius`` of the jet.
        max_events: Stop after this many events (default ``200 * n_jets``) with an
            error saying how many jets were found.
        progress: Show a tqdm progress bar.
        settings: Extra Pythia configuration strings.

    Returns:
        Jets in the layout of :func:`hypervae.datasets.make_jets`.

    Examples:
        >>> jets = generate_pythia("w", n_jets=2, seed=3, progress=False)  # doctest: +SKIP
        >>> len(jets)  # doctest: +SKIP
        2
    """
    fastjet = require("fastjet", "pythia", "generate_pythia")
    from tqdm.auto import tqdm

    name = jet_type_name(jet_type)
    spec = PROCESSES[name]
    pythia = configured_pythia(
        (*pythia_settings(name, seed, pthat), *settings), f"jet type {name!r}"
    )
    jet_def = fastjet.JetDefinition(fastjet.antikt_algorithm, radius)
    max_events = 200 * n_jets if max_events is None else max_events
    kept_p4: list[np.ndarray] = []
    jet_rows: list[tuple[float, float, float, float, int]] = []
    bar = tqdm(total=n_jets, desc=f"pythia {name} jets", disable=not progress, unit="jet")
    events = 0
    try:
        while len(jet_rows) < n_jets:
            if events >= max_events:
                msg = (
                    f"found only {len(jet_rows)} of {n_jets} {name} jets in {events} events; "
                    "widen pt_window or pthat, or raise max_events"
                )
                raise RuntimeError(msg)
            events += 1
            if not pythia.next():
                continue
            parents = _parents(pythia.process, spec["parents"], spec["decays"])
            if not parents:
                continue
            inputs = []
            for part in pythia.event:
                if part.isFinal() and abs(part.id()) not in _NEUTRINOS:
                    inputs.append(fastjet.PseudoJet(part.px(), part.py(), part.pz(), part.e()))
            sequence = fastjet.ClusterSequence(inputs, jet_def)
            for jet in sequence.inclusive_jets(pt_window[0]):
                if not (pt_window[0] < jet.pt() < pt_window[1] and abs(jet.eta()) < max_eta):
                    continue
                axis = (jet.rap(), jet.phi_std())
                matched = [
                    quarks
                    for pos, quarks in parents
                    if _dr(axis, pos) < match_dr
                    and (
                        not (spec["decays"] and require_contained)
                        or all(_dr(axis, q) < radius for q in quarks)
                    )
                ]
                if not matched:
                    continue
                constituents = sorted(jet.constituents(), key=lambda c: -c.pt())
                kept_p4.append(
                    np.array(
                        [[c.e(), c.px(), c.py(), c.pz()] for c in constituents[:max_particles]]
                    )
                )
                jet_rows.append((jet.pt(), jet.eta(), jet.phi_std(), jet.m(), len(constituents)))
                bar.update(1)
                if len(jet_rows) == n_jets:
                    break
    finally:
        bar.close()
    counts = np.array([len(p) for p in kept_p4], dtype=np.int64)
    pt, eta, phi, mass = cartesian_to_ptetaphim(np.concatenate(kept_p4))
    particles = ak.unflatten(
        ak.zip({"pt": pt, "eta": eta, "phi": phi, "mass": mass}, with_name="Momentum4D"),
        counts,
    )
    rows = np.array(jet_rows, dtype=np.float64)
    return make_jets(
        particles,
        jet_type_code(name),
        pt=rows[:, 0],
        eta=rows[:, 1],
        phi=rows[:, 2],
        mass=rows[:, 3],
        n_constituents=rows[:, 4].astype(np.int32),
    )

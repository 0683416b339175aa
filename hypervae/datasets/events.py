r"""Whole Pythia 8 events as one particle stream (the ``pythia`` extra): the HH -> 4b set.

A jet-free event classifier reads every visible final-state particle of an event, not
clustered jets. :func:`generate_events` produces them for three processes at
:math:`\sqrt{s} = 13` TeV:

==========  ==============================================================================
process     Pythia set-up
==========  ==============================================================================
signal      ``HiggsBSM:gg2H2``: X = H2 (id 35, mass ``m_x``) -> h (25, mass m_h1) A (36,
            mass m_h2), both forced to b bbar (channels switched off, not replaced, so
            that gg -> H2 keeps its cross section)
qcd         ``HardQCD:all`` with pT-hat > 150 GeV
ttbar       ``Top:gg2ttbar`` and ``Top:qqbar2ttbar``, all decays
==========  ==============================================================================

Kept: final, visible particles with :math:`|\eta| < 2.5` and :math:`p_T > 0.5` GeV, the
``max_particles`` leading in pT, as padded ``(E, px, py, pz)`` arrays in GeV. Parton
showers, hadronisation and multiple parton interactions are Pythia's defaults, so the
stream carries the underlying event.

The same seed gives the same events (one Pythia instance, ``Random:seed``).

References:
    | Bierlich et al., A comprehensive guide to the physics and usage of PYTHIA 8.3
    | (2022) https://arxiv.org/abs/2203.11601
"""

from __future__ import annotations

import numpy as np

from .pythia import configured_pythia

__all__ = [
    "EVENT_PROCESSES",
    "HH4B_BACKGROUNDS",
    "HH4B_MASS_EDGES",
    "HH4B_SIGNAL_BINS",
    "event_settings",
    "generate_events",
]

#: Processes :func:`generate_events` knows.
EVENT_PROCESSES = ("signal", "qcd", "ttbar")
#: Bin edges in GeV of m_h1 and of m_h2 for the HH -> 4b signal classes.
HH4B_MASS_EDGES = (50.0, 100.0, 150.0, 200.0)
#: Signal classes: bins ``(i1, i2)`` of ``(m_h1, m_h2)`` with ``i1 >= i2`` (m_h1 >= m_h2:
#: the two Higgs candidates are not labelled, so only the ordered pair is observable).
HH4B_SIGNAL_BINS = tuple(
    (i, j)
    for i in range(len(HH4B_MASS_EDGES) - 1)
    for j in range(len(HH4B_MASS_EDGES) - 1)
    if i >= j
)
#: Background classes after the signal bins.
HH4B_BACKGROUNDS = ("qcd", "ttbar")


def event_settings(
    process: str, seed: int, m_x: float = 500.0, masses: tuple[float, float] = (125.0, 125.0)
) -> list[str]:
    """Pythia configuration strings of one process (see the module docstring).

    Arguments:
        process: ``"signal"``, ``"qcd"`` or ``"ttbar"``.
        seed: Pythia's ``Random:seed``, in [0, 900000000].
        m_x: Signal only: the mass of X in GeV.
        masses: Signal only: ``(m_h1, m_h2)`` in GeV; ``m_h1 + m_h2 < m_x``.

    Examples:
        >>> event_settings("qcd", seed=3)[-1]
        'PhaseSpace:pTHatMin = 150.'
    """
    if process not in EVENT_PROCESSES:
        msg = f"process: must be one of {list(EVENT_PROCESSES)}, got {process!r}"
        raise ValueError(msg)
    if not 0 <= seed <= 900_000_000:
        msg = f"seed: Pythia accepts 0..900000000, got {seed}"
        raise ValueError(msg)
    settings = [
        "Beams:eCM = 13000.",
        f"Random:seed = {seed}",
        "Random:setSeed = on",
        "Next:numberCount = 0",
        "Print:quiet = on",
    ]
    if process == "signal":
        m1, m2 = masses
        if min(m1, m2) <= 0 or m1 + m2 >= m_x:
            msg = f"masses: need 0 < m_h1, m_h2 and m_h1 + m_h2 < m_x = {m_x}, got {masses}"
            raise ValueError(msg)
        settings += [
            "Higgs:useBSM = on",
            "HiggsBSM:gg2H2 = on",
            f"35:m0 = {m_x}",
            "35:onMode = off",
            "35:addChannel = 1 1.0 100 25 36",
            f"25:m0 = {m1}",
            "25:onMode = off",
            "25:onIfMatch = 5 -5",
            f"36:m0 = {m2}",
            "36:onMode = off",
            "36:addChannel = 1 1.0 100 5 -5",
        ]
    elif process == "qcd":
        settings += ["HardQCD:all = on", "PhaseSpace:pTHatMin = 150."]
    else:
        settings += ["Top:gg2ttbar = on", "Top:qqbar2ttbar = on"]
    return settings


def generate_events(
    process: str,
    n_events: int,
    seed: int,
    m_x: float = 500.0,
    masses: tuple[float, float] = (125.0, 125.0),
    max_particles: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """Pythia 8 events as padded particle streams.

    Arguments:
        process: ``"signal"``, ``"qcd"`` or ``"ttbar"``.
        n_events: Number of events (each with at least one kept particle).
        seed: Pythia's random seed.
        m_x: Signal only: the mass of X in GeV.
        masses: Signal only: ``(m_h1, m_h2)`` in GeV.
        max_particles: Particles kept per event, leading in pT.

    Returns:
        ``p4 [n_events, max_particles, 4]`` float64 ``(E, px, py, pz)`` in GeV, sorted by
        decreasing pT, zero in padding, and ``mask [n_events, max_particles]``.

    Examples:
        >>> p4, mask = generate_events("ttbar", n_events=2, seed=1)  # doctest: +SKIP
        >>> p4.shape  # doctest: +SKIP
        (2, 256, 4)
    """
    if n_events < 1 or max_particles < 1:
        msg = f"n_events and max_particles must be >= 1, got {n_events}, {max_particles}"
        raise ValueError(msg)
    gen = configured_pythia(event_settings(process, seed, m_x, masses), f"the {process} process")
    p4 = np.zeros((n_events, max_particles, 4))
    mask = np.zeros((n_events, max_particles), dtype=bool)
    done = failures = 0
    while done < n_events:
        if not gen.next():
            failures += 1
            if failures > 100 * n_events:
                msg = f"Pythia failed {failures} times generating {process} events (seed {seed})"
                raise RuntimeError(msg)
            continue
        parts = np.array(
            [
                (p.e(), p.px(), p.py(), p.pz())
                for p in gen.event
                if p.isFinal() and p.isVisible() and abs(p.eta()) < 2.5 and p.pT() > 0.5
            ]
        ).reshape(-1, 4)
        if len(parts) == 0:
            continue
        order = np.argsort(-np.hypot(parts[:, 1], parts[:, 2]), kind="stable")[:max_particles]
        p4[done, : len(order)] = parts[order]
        mask[done, : len(order)] = True
        done += 1
    return p4, mask

"""Toy jets with a chosen number of prongs, for tests, examples and benchmarks.

Not physics: a jet of transverse momentum ``pt`` is split into ``n_prongs`` prongs
(random directions within ``prong_radius`` of the axis, Dirichlet momentum fractions),
and each prong into massless particles spread by ``width`` around it. One-prong narrow
jets and three-prong wide jets are trivially separable, which is what tests need.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from ..datasets.jets import make_jets
from ..physics.kinematics import from_padded, ptetaphim_to_cartesian

__all__ = ["toy_jets"]


def toy_jets(
    n_jets: int,
    n_prongs: int = 1,
    n_particles: int | tuple[int, int] = (10, 30),
    pt: float = 1000.0,
    prong_radius: float = 0.3,
    width: float = 0.03,
    jet_type: str | int | None = None,
    seed: int | None = None,
) -> ak.Array:
    """Toy jets in the :func:`hypervae.datasets.make_jets` layout, particles sorted by pT.

    Arguments:
        n_jets: Number of jets.
        n_prongs: Prongs per jet (1 for q/g-like, 2 for W/Z-like, 3 for t-like).
        n_particles: Fixed multiplicity or an inclusive ``(low, high)`` range.
        pt: Approximate jet transverse momentum in GeV.
        prong_radius: Maximal distance of a prong from the jet axis.
        width: Gaussian spread of particles around their prong in eta and phi.
        jet_type: Stored type code; by default ``q``, ``w``, ``t`` for 1, 2, 3 prongs.
        seed: Seed of the random generator.

    Examples:
        >>> jets = toy_jets(3, n_prongs=3, n_particles=5, seed=0)
        >>> ak.num(jets.particles).tolist(), jets.jet_type.tolist()
        ([5, 5, 5], [2, 2, 2])
    """
    rng = np.random.default_rng(seed)
    low, high = (n_particles, n_particles) if isinstance(n_particles, int) else n_particles
    counts = rng.integers(low, high + 1, size=n_jets)
    size = int(counts.max(initial=1))
    eta_jet = rng.uniform(-1.5, 1.5, size=(n_jets, 1))
    phi_jet = rng.uniform(-np.pi, np.pi, size=(n_jets, 1))
    r = prong_radius * np.sqrt(rng.uniform(size=(n_jets, n_prongs)))
    angle = rng.uniform(0, 2 * np.pi, size=(n_jets, n_prongs))
    if n_prongs == 1:
        r = np.zeros_like(r)
    prong_frac = rng.dirichlet(np.full(n_prongs, 3.0), size=n_jets)
    prong = rng.integers(0, n_prongs, size=(n_jets, size))
    share = rng.exponential(size=(n_jets, size))
    mask = np.arange(size)[None, :] < counts[:, None]
    share = np.where(mask, share, 0.0)
    share_sum = np.zeros((n_jets, n_prongs))
    for k in range(n_prongs):
        share_sum[:, k] = np.where(prong == k, share, 0.0).sum(1)
    frac = share / np.take_along_axis(np.maximum(share_sum, 1e-12), prong, 1)
    frac *= np.take_along_axis(prong_frac, prong, 1)
    eta = eta_jet + np.take_along_axis(r * np.cos(angle), prong, 1)
    phi = phi_jet + np.take_along_axis(r * np.sin(angle), prong, 1)
    eta = eta + width * rng.normal(size=eta.shape)
    phi = phi + width * rng.normal(size=phi.shape)
    p4 = ptetaphim_to_cartesian(pt * frac + 1e-3, eta, phi, 0.0)
    order = np.argsort(np.where(mask, -frac, np.inf), axis=1, kind="stable")
    p4 = np.take_along_axis(p4, order[..., None], 1)
    if jet_type is None:
        jet_type = {1: "q", 2: "w"}.get(n_prongs, "t")
    return make_jets(from_padded(p4, mask), jet_type)

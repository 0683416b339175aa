"""Hand-built and random jets for the graph tests (imported by the test modules)."""

from __future__ import annotations

import numpy as np

from hypervae.datasets import make_jets
from hypervae.physics import from_padded, ptetaphim_to_cartesian


def jets_from(pt, eta, phi, mass=0.0, jet_type=1):
    """Jets from padded (pt, eta, phi[, mass]) arrays; pt == 0 marks padding."""
    pt = np.atleast_2d(np.asarray(pt, dtype=np.float64))
    p4 = ptetaphim_to_cartesian(pt, np.atleast_2d(eta), np.atleast_2d(phi), mass)
    return make_jets(from_padded(p4, pt > 0), jet_type)


def random_jets(n_jets, n_particles, seed=0, eta0=0.0, phi0=0.0):
    """Realistic-looking jets: exponential pT, Gaussian (eta, phi) of width 0.1."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(max(3, n_particles // 2), n_particles + 1, size=n_jets)
    slots = np.arange(n_particles)[None, :] < counts[:, None]
    pt = np.where(slots, rng.exponential(20.0, (n_jets, n_particles)) + 0.5, 0.0)
    eta = eta0 + rng.normal(0, 0.1, pt.shape)
    phi = phi0 + rng.normal(0, 0.1, pt.shape)
    types = rng.integers(0, 5, size=n_jets)
    p4 = ptetaphim_to_cartesian(pt, eta, phi, 0.0)
    return make_jets(from_padded(p4, slots), types)

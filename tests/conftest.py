"""Shared fixtures: random but realistic jets, and Lorentz transformations."""

from __future__ import annotations

import numpy as np
import pytest

from hypervae.physics import from_padded, ptetaphim_to_cartesian


def random_padded(rng: np.random.Generator, n_jets: int = 6, n_max: int = 9, massive: bool = True):
    """Padded (p4, mask) of jets around a random axis, with varying multiplicity."""
    counts = rng.integers(2, n_max + 1, size=n_jets)
    counts[0] = n_max
    mask = np.arange(n_max)[None, :] < counts[:, None]
    pt = rng.exponential(30.0, size=(n_jets, n_max)) + 0.5
    eta = rng.normal(0, 1.5, size=(n_jets, 1)) + rng.normal(0, 0.2, size=(n_jets, n_max))
    phi = rng.uniform(-np.pi, np.pi, size=(n_jets, 1)) + rng.normal(0, 0.2, size=(n_jets, n_max))
    mass = rng.choice([0.0, 0.13957, 0.4937, 0.93827], size=(n_jets, n_max)) if massive else 0.0
    p4 = ptetaphim_to_cartesian(pt, eta, phi, mass)
    return np.where(mask[..., None], p4, 0.0), mask


def boost_z(p4: np.ndarray, rapidity: float) -> np.ndarray:
    """Boost along z written as a 4x4 matrix (independent of the library's code)."""
    ch, sh = np.cosh(rapidity), np.sinh(rapidity)
    lam = np.array([[ch, 0, 0, sh], [0, 1, 0, 0], [0, 0, 1, 0], [sh, 0, 0, ch]])
    return p4 @ lam.T


def rotate_z(p4: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    lam = np.array([[1, 0, 0, 0], [0, c, -s, 0], [0, s, c, 0], [0, 0, 0, 1]])
    return p4 @ lam.T


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def padded(rng):
    return random_padded(rng)


@pytest.fixture
def particles(padded):
    return from_padded(*padded)

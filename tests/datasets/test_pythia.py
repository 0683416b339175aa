"""Pythia generation (slow; needs the ``pythia`` extra)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import hypervae as hv


def test_missing_extra_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "pythia8mc", None)  # makes `import pythia8mc` fail
    with pytest.raises(ImportError, match=r"pip install 'hypervae\[pythia\]'"):
        hv.datasets.generate_pythia("g", n_jets=1)


def test_settings_per_type():
    assert "HardQCD:gg2gg = on" in hv.datasets.pythia_settings("g", seed=1)
    assert "23:onIfAny = 1 2 3 4 5" in hv.datasets.pythia_settings("z", seed=1)
    assert "Random:seed = 8" in hv.datasets.pythia_settings("t", seed=7)
    with pytest.raises(ValueError, match="unknown jet type"):
        hv.datasets.pythia_settings("x", seed=1)


@pytest.mark.slow
@pytest.mark.parametrize(("jet_type", "mass_window"), [("w", (60, 100)), ("t", (140, 210))])
def test_generate_reproducible_physical(jet_type, mass_window):
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    jets = hv.datasets.generate_pythia(
        jet_type, n_jets=12, max_particles=30, seed=5, progress=False
    )
    again = hv.datasets.generate_pythia(
        jet_type, n_jets=12, max_particles=30, seed=5, progress=False
    )
    assert len(jets) == 12
    np.testing.assert_array_equal(jets.pt.to_numpy(), again.pt.to_numpy())
    assert np.all((jets.pt.to_numpy() > 900) & (jets.pt.to_numpy() < 1100))
    assert np.all(jets.n_particles.to_numpy() <= 30)
    assert np.all(jets.n_constituents.to_numpy() >= jets.n_particles.to_numpy())
    pt = jets.particles.pt.to_list()
    assert all(p == sorted(p, reverse=True) for p in pt)
    lo, hi = mass_window
    assert lo < np.median(jets.mass.to_numpy()) < hi

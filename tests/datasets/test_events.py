"""hypervae.datasets.events with a fake Pythia: selection, ordering, padding, errors."""

from __future__ import annotations

import numpy as np
import pytest

from hypervae.datasets import events


class FakeParticle:
    def __init__(self, e, px, py, pz, final=True, visible=True):
        self.v = (e, px, py, pz)
        self.final, self.visible = final, visible

    def e(self):
        return self.v[0]

    def px(self):
        return self.v[1]

    def py(self):
        return self.v[2]

    def pz(self):
        return self.v[3]

    def pT(self):
        return float(np.hypot(self.v[1], self.v[2]))

    def eta(self):
        return float(np.arcsinh(self.v[3] / self.pT()))

    def isFinal(self):
        return self.final

    def isVisible(self):
        return self.visible


class FakePythia:
    """Each event: particles of pT 1..k along x (eta 0), plus ones the selection must drop."""

    def __init__(self, sizes, fail_every=0):
        self.sizes, self.calls, self.fail_every, self.event = list(sizes), 0, fail_every, []

    def next(self):
        self.calls += 1
        if self.fail_every and self.calls % self.fail_every == 0:
            return False
        k = self.sizes.pop(0)
        kept = [FakeParticle(float(pt), float(pt), 0.0, 0.0) for pt in range(1, k + 1)]
        dropped = [
            FakeParticle(50.0, 0.3, 0.0, 0.0),  # pT 0.3 < 0.5 GeV
            FakeParticle(1e4, 10.0, 0.0, 1e4),  # |eta| ~ 7.6 > 2.5
            FakeParticle(20.0, 20.0, 0.0, 0.0, final=False),
            FakeParticle(30.0, 30.0, 0.0, 0.0, visible=False),  # a neutrino
        ]
        self.event = dropped[:2] + kept[::-1][::2] + dropped[2:] + kept[::-1][1::2]
        return True


def test_selection_order_and_padding(monkeypatch):
    fake = FakePythia([3, 0, 5], fail_every=2)
    monkeypatch.setattr(events, "configured_pythia", lambda settings, what: fake)
    p4, mask = events.generate_events("qcd", n_events=2, seed=1, max_particles=4)
    assert p4.shape == (2, 4, 4)
    # the empty event is skipped; the 5-particle event keeps its 4 leading particles
    assert mask.tolist() == [[True, True, True, False], [True, True, True, True]]
    np.testing.assert_array_equal(p4[0, :, 1], [3.0, 2.0, 1.0, 0.0])
    np.testing.assert_array_equal(p4[1, :, 1], [5.0, 4.0, 3.0, 2.0])
    assert np.all(p4[~mask] == 0)


def test_settings_and_errors():
    signal = events.event_settings("signal", seed=7, m_x=400.0, masses=(130.0, 90.0))
    assert "35:m0 = 400.0" in signal
    assert "25:m0 = 130.0" in signal
    assert "36:m0 = 90.0" in signal
    assert "Random:seed = 7" in signal
    assert "Top:gg2ttbar = on" in events.event_settings("ttbar", seed=1)
    with pytest.raises(ValueError, match="process: must be one of"):
        events.event_settings("wjets", seed=1)
    with pytest.raises(ValueError, match="seed: Pythia accepts"):
        events.event_settings("qcd", seed=-1)
    with pytest.raises(ValueError, match="masses: need"):
        events.event_settings("signal", seed=1, m_x=200.0, masses=(125.0, 125.0))
    with pytest.raises(ValueError, match="n_events and max_particles"):
        events.generate_events("qcd", n_events=0, seed=1)


def test_signal_bins_are_ordered_and_cover_the_triangle():
    bins = events.HH4B_SIGNAL_BINS
    n = len(events.HH4B_MASS_EDGES) - 1
    assert len(bins) == n * (n + 1) // 2 == 6
    assert all(i >= j for i, j in bins)
    assert len(set(bins)) == len(bins)

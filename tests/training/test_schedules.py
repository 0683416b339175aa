"""Learning-rate and temperature schedules."""

from __future__ import annotations

import itertools
import math

import pytest

from hypervae.training import gumbel_temperature, warmup_cosine


def test_warmup_rises_linearly_then_cosine_reaches_min():
    factors = [warmup_cosine(s, 4, 20, 0.01) for s in range(25)]
    assert factors[:5] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    decay = factors[4:21]
    assert all(a >= b for a, b in itertools.pairwise(decay))
    assert factors[12] == pytest.approx(0.01 + 0.99 * 0.5)  # half way: cosine at pi/2
    assert factors[20:] == pytest.approx([0.01] * 5)


def test_temperature_decays_to_floor():
    taus = [gumbel_temperature(e, 2.0, 0.5, 0.5) for e in (0, 0.5, 1, 2, 10)]
    assert taus == pytest.approx([2.0, 2.0 * math.sqrt(0.5), 1.0, 0.5, 0.5])

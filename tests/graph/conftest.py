"""Fixtures of the graph tests."""

from __future__ import annotations

import pytest
from graph_jets import jets_from


@pytest.fixture
def triangle():
    """Three massless particles: pT 50, 30, 20 at (eta, phi) (0, 0), (0.1, 0), (0, 0.1)."""
    return jets_from([[50.0, 30.0, 20.0]], [[0.0, 0.1, 0.0]], [[0.0, 0.0, 0.1]])

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

PATH = Path(__file__).resolve().parents[2] / "examples" / "hh4b_event_classifier.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("hh4b_event_classifier", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_interpret_posteriors(example):
    n_sig = len(example.SIGNAL_BINS)
    probs = np.zeros((3, n_sig + 2))
    probs[0, 3] = 1.0  # a signal bin
    probs[1, n_sig] = 1.0  # QCD
    probs[2, [0, n_sig + 1]] = 0.5  # half first signal bin, half t tbar
    disc, mass = example.interpret(probs)
    assert disc.tolist() == [1.0, 0.0, 0.5]
    i1, i2 = example.SIGNAL_BINS[3]
    assert i1 >= i2
    assert mass[0].tolist() == [example.CENTRES[i1], example.CENTRES[i2]]
    assert mass[2].tolist() == [example.CENTRES[0], example.CENTRES[0]]


def test_toy_signal_has_the_resonance_mass(example):
    p4, mask = example.toy_events("signal", 20, np.random.default_rng(0), m_x=500.0)
    total = p4.sum(1)
    mass = np.sqrt(total[:, 0] ** 2 - (total[:, 1:] ** 2).sum(1))
    np.testing.assert_allclose(mass, 500.0, rtol=0.05)  # sprays smear the massless b's
    assert mask.all()
    assert p4.shape[1] <= example.N_MAX


@pytest.mark.slow
def test_example_runs_in_toy_mode():
    out = subprocess.run(
        [sys.executable, str(PATH), "--toy", "--events", "40", "--epochs", "2"],
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    assert "signal vs background AUC of D" in out.stdout

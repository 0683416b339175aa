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


def test_confusion_and_jensen_shannon(example):
    n_sig = len(example.SIGNAL_BINS)
    probs = np.zeros((3, n_sig + 2))
    probs[0, 1] = probs[1, 1] = probs[2, 2] = 1.0
    matrix = example.confusion(np.array([1, 2, 2]), probs)
    assert matrix[1, 1] == 1.0
    assert matrix[2].tolist()[1:3] == [0.5, 0.5]
    assert matrix[0].sum() == 0.0  # no event of bin 0
    assert example.jensen_shannon(np.array([1.0, 0]), np.array([0, 3.0])) == 1.0
    assert example.jensen_shannon(np.array([1.0, 2]), np.array([2.0, 4])) == 0.0
    p, q = np.array([0.5, 0.5]), np.array([1.0, 0.0])
    m = 0.5 * (p + q)
    slow = 0.5 * sum(a * np.log2(a / b) for a, b in zip(p, m, strict=True) if a > 0)
    slow += 0.5 * sum(a * np.log2(a / b) for a, b in zip(q, m, strict=True) if a > 0)
    assert example.jensen_shannon(p, q) == pytest.approx(slow)


def test_sculpting_of_an_uncorrelated_cut_is_small(example):
    rng = np.random.default_rng(0)
    n_sig = len(example.SIGNAL_BINS)
    probs = rng.dirichlet(np.ones(n_sig + 2), size=4000)
    is_sig = np.arange(4000) < 2000
    disc = rng.uniform(size=4000)  # independent of the bins
    jsd, eff_b = example.sculpting(disc, probs, is_sig)
    assert 0.4 < eff_b < 0.6
    assert jsd < 0.01
    # a cut that keeps the background of bin 0 (1/8 of it) and a little of the rest
    disc = (probs[:, :n_sig].argmax(1) == 0) + 0.3 * rng.uniform(size=4000)
    disc[is_sig] = rng.uniform(size=2000)
    jsd, eff_b = example.sculpting(disc, probs, is_sig)
    assert eff_b < 0.3
    assert jsd > 0.3


def test_phat_model_takes_a_whole_event_stream(example):
    import torch

    p4, mask = example.toy_events("ttbar", 2, np.random.default_rng(1))
    model = example.make_model("phat").eval()
    out = model(torch.as_tensor(p4), torch.as_tensor(mask))
    assert out.shape == (2, len(example.SIGNAL_BINS) + len(example.BACKGROUNDS))


def test_dijet_masses_pair_four_jets_into_equal_mass_candidates(example):
    pytest.importorskip("fastjet")
    # four well separated massless "jets" with distinct pT (leading first)
    pt = np.array([100.0, 80.0, 60.0, 40.0])
    eta = np.array([0.0, 0.5, -0.5, 1.0])
    phi = np.array([0.0, 1.5, 3.0, 4.5])
    jets = np.stack([pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], 1)
    p4 = np.zeros((2, 8, 4))
    p4[0, :4] = jets
    mask = np.zeros((2, 8), dtype=bool)
    mask[0, :4] = True
    mask[1, :2] = True  # only two particles: fewer than four jets
    p4[1, :2] = jets[:2]
    masses = example.dijet_masses(p4, mask, min_pt=1.0)
    # the pairing minimising |m_a - m_b| among the three: compare with a slow loop
    vec = np.array(jets)

    def m(v):
        return np.sqrt(max(0.0, v[0] ** 2 - v[1:] @ v[1:]))

    options = [(m(vec[a] + vec[b]), m(vec[c] + vec[d]))
               for (a, b), (c, d) in [((0, 1), (2, 3)), ((0, 2), (1, 3)), ((0, 3), (1, 2))]]  # fmt: skip
    best = min(options, key=lambda o: abs(o[0] - o[1]))
    np.testing.assert_allclose(masses[0], [max(best), min(best)], rtol=1e-6)
    assert np.isnan(masses[1]).all()


def test_mass_sculpting_floor_and_a_sculpting_cut(example):
    rng = np.random.default_rng(1)
    n = 4000
    masses = rng.uniform(0, 250, (n, 2))
    is_sig = np.arange(n) < 1000
    disc = rng.uniform(size=n)
    jsd, floor, kept = example.mass_sculpting(disc, masses, is_sig)
    assert 1000 < kept < 2000
    assert jsd < 3 * floor + 0.02  # an independent cut sculpts no more than chance
    # a cut that keeps only background near (125, 125)
    near = np.abs(masses - 125).max(1) < 25
    disc2 = np.where(is_sig, rng.uniform(size=n), near.astype(float))
    jsd2, floor2, _ = example.mass_sculpting(disc2, masses, is_sig)
    assert jsd2 > 0.5 > floor2

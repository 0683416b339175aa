"""The shipped real Pythia sample."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

import hypervae as hv
from hypervae.cli import main

MASS_WINDOWS = {"t": (150.0, 200.0), "w": (65.0, 95.0), "z": (75.0, 105.0)}


@pytest.mark.parametrize("jet_type", ["g", "q", "t", "w", "z"])
def test_sample_is_real_and_complete(jet_type):
    jets = hv.datasets.load_sample(jet_type)
    assert len(jets) >= 10_000
    sizes = hv.datasets.sample_info()["splits"][jet_type]
    assert sum(sizes.values()) == len(jets)
    parts = [hv.datasets.load_sample(jet_type, split=s) for s in ("train", "val", "test")]
    assert [len(p) for p in parts] == [sizes["train"], sizes["val"], sizes["test"]]
    assert sizes["train"] > 0.69 * len(jets)
    assert set(jets.jet_type.to_list()) == {hv.datasets.jet_type_code(jet_type)}
    pt = ak.to_numpy(jets.pt)
    assert np.all((pt > 900) & (pt < 1100))
    assert 950 < np.median(pt) < 1050
    n = ak.to_numpy(jets.n_particles)
    assert n.max() == 30
    assert np.all(ak.num(jets.particles) == n)
    assert np.all(ak.to_numpy(jets.n_constituents) >= n)
    lead = jets.particles.pt
    assert ak.all(lead[:, :-1] >= lead[:, 1:])  # sorted by pT
    # the 30 leading constituents carry most of the jet pT
    frac = ak.to_numpy(ak.sum(jets.particles.pt, axis=1)) / pt
    assert np.median(frac) > 0.85


@pytest.mark.parametrize(("jet_type", "window"), list(MASS_WINDOWS.items()))
def test_resonance_mass_peaks(jet_type, window):
    mass = ak.to_numpy(hv.datasets.load_sample(jet_type).mass)
    counts, edges = np.histogram(mass, bins=60, range=(0, 300))
    peak = 0.5 * (edges[np.argmax(counts)] + edges[np.argmax(counts) + 1])
    assert window[0] < peak < window[1]
    assert window[0] < np.median(mass) < window[1] + 10


def test_qcd_jets_are_lighter_than_tops():
    med = {t: np.median(ak.to_numpy(hv.datasets.load_sample(t).mass)) for t in "gqt"}
    assert med["g"] < med["t"]
    assert med["q"] < med["t"]
    # gluon jets radiate more: more constituents than quark jets
    nc = {t: np.mean(ak.to_numpy(hv.datasets.load_sample(t).n_constituents)) for t in "gq"}
    assert nc["g"] > nc["q"]


def test_unknown_split():
    with pytest.raises(ValueError, match="unknown split 'training'"):
        hv.datasets.load_sample("g", split="training")


def test_summary_command(capsys):
    assert main(["summary", "--jet-type", "t", "-n", "50"]) == 0
    out = capsys.readouterr().out
    row = next(line.split() for line in out.splitlines() if line.strip().startswith("t "))
    assert int(row[1]) == hv.datasets.sample_info()["splits"]["t"]["test"]
    assert 150 < float(row[4]) < 200  # mass mode of top jets
    assert main([]) == 2


def test_summarize_takes_n_jets_and_the_old_name_warns():
    from hypervae.datasets.cli import summarize

    new = summarize("w", n_jets=20)
    with pytest.warns(DeprecationWarning, match="n_jets"):
        old = summarize("w", n=20)
    assert {k: v for k, v in old.items() if k != "jets_per_s"} == {
        k: v for k, v in new.items() if k != "jets_per_s"
    }
    assert main(["summary", "--jet-type", "w", "--n-jets", "20"]) == 0
    with pytest.raises(ValueError, match="n_jets must be >= 1, got 0"):
        summarize("w", n_jets=0)

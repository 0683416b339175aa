"""scripts/make_hh4b_data.py with a fake event generator in place of Pythia."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from hypervae.datasets import events

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_hh4b_data.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("make_hh4b_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_seeded_chunks_masses_in_bins_cache_and_read_back(script, tmp_path, monkeypatch):
    calls = []

    def fake(process, n, seed, m_x=500.0, masses=(125.0, 125.0), max_particles=256):
        calls.append((process, n, seed, masses))
        p4 = np.zeros((n, max_particles, 4))
        p4[:, :3] = [10.0, 6.0, 0.0, 8.0]
        mask = np.zeros((n, max_particles), dtype=bool)
        mask[:, :3] = True
        return p4, mask

    monkeypatch.setattr(events, "generate_events", fake)
    argv = ["--n-events", "6", "--chunk", "4", "--workers", "1", "-o", str(tmp_path)]
    script.main(argv)
    names = script.class_names()
    assert names == ["sig_00", "sig_10", "sig_11", "sig_20", "sig_21", "sig_22", "qcd", "ttbar"]
    # 6 events per group: one per signal bin (one chunk each), 4 + 2 per background
    assert [(c[0], c[1], c[2]) for c in calls] == [
        *[("signal", 1, 200000 + 1000 * k) for k in range(6)],
        ("qcd", 4, 206000), ("qcd", 2, 206001), ("ttbar", 4, 207000), ("ttbar", 2, 207001),
    ]  # fmt: skip
    edges = events.HH4B_MASS_EDGES
    for (i1, i2), call in zip(events.HH4B_SIGNAL_BINS, calls, strict=False):
        m1, m2 = call[3]
        assert edges[i1] <= m1 <= edges[i1 + 1]
        assert edges[i2] <= m2 <= edges[i2 + 1]
        assert m1 >= m2
    p4, _mask, labels, masses = script.load_hh4b_data(tmp_path)
    assert p4.shape == (18, 256, 4)
    assert p4.dtype == np.float32
    assert labels.tolist() == [0, 1, 2, 3, 4, 5] + [6] * 6 + [7] * 6
    assert np.isnan(masses[6:]).all()
    assert np.isfinite(masses[:6]).all()
    assert masses[1].tolist() == pytest.approx(calls[1][3])
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["events"]["qcd"] == 6
    calls.clear()
    script.main(argv)  # everything cached: no generation
    assert calls == []


def test_missing_class_names_the_file(script, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"sig_00\.npz is missing"):
        script.load_hh4b_data(tmp_path)

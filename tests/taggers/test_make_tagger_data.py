"""scripts/make_tagger_data.py with a fake generator in place of Pythia."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from hypervae.taggers import toy_jets

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_tagger_data.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("make_tagger_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeGenerator:
    """Toy jets (up to 160 particles, so the 150 limit matters) and a log of the calls."""

    def __init__(self):
        self.calls = []

    def __call__(self, jet_type, n_jets, n_particles, seed):
        self.calls.append((jet_type, n_jets, n_particles, seed))
        prongs = {"g": 1, "q": 1, "t": 3, "w": 2, "z": 2}[jet_type]
        jets = toy_jets(n_jets, prongs, n_particles=(5, 160), jet_type=jet_type, seed=seed)
        return _leading(jets, n_particles)


def _leading(jets, n):
    import awkward as ak

    return ak.with_field(jets, jets.particles[:, :n], "particles")


def test_generates_seeded_chunks_caches_and_reads_back(script, tmp_path):
    fake = FakeGenerator()
    argv = ["--n-jets", "5", "--chunk", "2", "--types", "g", "t", "-o", str(tmp_path)]
    out = script.main(argv, generator=fake)
    assert out == tmp_path
    # three chunks per type (2 + 2 + 1 jets), seeds 1000 * (code + 1) + 500 + chunk
    assert fake.calls == [
        ("g", 2, 150, 1500), ("g", 2, 150, 1501), ("g", 1, 150, 1502),
        ("t", 2, 150, 3500), ("t", 2, 150, 3501), ("t", 1, 150, 3502),
    ]  # fmt: skip
    p4, mask, jet_type = script.load_tagger_data(tmp_path, types=("g", "t"))
    assert p4.shape == (10, 150, 4)
    assert mask.shape == (10, 150)
    assert jet_type.tolist() == [0] * 5 + [2] * 5
    assert np.all(p4[~mask] == 0)
    assert mask.sum(1).max() <= 150
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["classes"]["t"]["seeds"] == [3500, 3501, 3502]
    # same jets again from the same seeds
    again = FakeGenerator()
    script.main([*argv, "-o", str(tmp_path / "again")], generator=again)
    p4b, _, _ = script.load_tagger_data(tmp_path / "again", types=("g", "t"))
    np.testing.assert_array_equal(p4b, p4)
    # the cache: nothing is generated a second time with the same settings
    cached = FakeGenerator()
    script.main(argv, generator=cached)
    assert cached.calls == []
    changed = FakeGenerator()
    script.main([*argv, "--seed-offset", "7"], generator=changed)
    assert changed.calls[0] == ("g", 2, 150, 1007)
    with pytest.raises(SystemExit):
        script.main([*argv, "--seed-offset", "999"], generator=FakeGenerator())


def test_missing_folder_is_named(script, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"folder: .*g\.npz is missing"):
        script.load_tagger_data(tmp_path / "nothing")

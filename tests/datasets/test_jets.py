from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

import hypervae as hv
from hypervae.physics import from_padded, jet_p4


def test_make_jets_computes_jet_fields(padded):
    jets = hv.datasets.make_jets(from_padded(*padded), "w")
    total = jet_p4(jets)
    np.testing.assert_allclose(jets.pt.to_numpy(), np.hypot(total[:, 1], total[:, 2]), rtol=1e-6)
    m = np.sqrt(total[:, 0] ** 2 - (total[:, 1:] ** 2).sum(1))
    np.testing.assert_allclose(jets.mass.to_numpy(), m, rtol=1e-5)
    assert set(jets.jet_type.to_numpy().tolist()) == {3}
    assert jets.n_particles.to_list() == padded[1].sum(1).tolist()
    assert jets.n_constituents.to_list() == jets.n_particles.to_list()
    # the particles are vector Momentum4D records
    assert jets.particles.E.ndim == 2


def test_jet_type_codes():
    assert [hv.datasets.jet_type_code(t) for t in "gqtwz"] == [0, 1, 2, 3, 4]
    assert hv.datasets.jet_type_name(4) == "z"
    assert hv.datasets.jet_type_code("T") == 2
    with pytest.raises(ValueError, match=r"unknown jet type 'h'"):
        hv.datasets.jet_type_code("h")
    with pytest.raises(ValueError, match="unknown jet type 7"):
        hv.datasets.jet_type_code(7)


def test_per_jet_types_checked(padded):
    parts = from_padded(*padded)
    jets = hv.datasets.make_jets(parts, np.arange(len(parts)) % 5)
    assert jets.jet_type.to_list() == [i % 5 for i in range(len(parts))]
    with pytest.raises(ValueError, match="entries for"):
        hv.datasets.make_jets(parts, [0, 1])


def test_split_indices_partition():
    parts = hv.datasets.split_indices(1000)
    allidx = np.concatenate(list(parts.values()))
    assert sorted(allidx.tolist()) == list(range(1000))
    assert [len(parts[k]) for k in ("train", "val", "test")] == [700, 150, 150]
    again = hv.datasets.split_indices(1000)
    assert all(np.array_equal(parts[k], again[k]) for k in parts)
    other = hv.datasets.split_indices(1000, seed=1)
    assert not np.array_equal(parts["test"], other["test"])
    with pytest.raises(ValueError, match="add up to 1"):
        hv.datasets.split_indices(10, (0.5, 0.2, 0.2))


def test_parquet_round_trip(tmp_path, padded):
    jets = hv.datasets.make_jets(from_padded(*padded), "t")
    path = hv.datasets.save_parquet(jets, tmp_path / "sub" / "jets.parquet")
    back = hv.datasets.load_parquet(path)
    assert back.fields == jets.fields
    assert ak.all(ak.flatten(back.particles.pt) == ak.flatten(jets.particles.pt))
    np.testing.assert_allclose(
        ak.flatten(back.particles.E).to_numpy(), ak.flatten(jets.particles.E).to_numpy()
    )
    assert not list(path.parent.glob(".*tmp"))  # no temporary file left behind


def test_save_failure_leaves_nothing(tmp_path):
    with pytest.raises(Exception):  # noqa: B017, PT011 - awkward raises its own types
        hv.datasets.save_parquet(ak.Array([{"a": object}]), tmp_path / "bad.parquet")
    assert list(tmp_path.iterdir()) == []


def test_load_parquet_rejects_other_files(tmp_path):
    ak.to_parquet(ak.Array([{"x": 1.0}]), tmp_path / "other.parquet")
    with pytest.raises(ValueError, match="no 'particles' field"):
        hv.datasets.load_parquet(tmp_path / "other.parquet")

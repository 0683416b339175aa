from __future__ import annotations

import os

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


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file is empty, 0 bytes"),
        (bytes(range(256)) * 8, "Parquet magic bytes not found"),
        (b"pt,eta,phi,mass\n1,2,3,4\n", "Parquet magic bytes not found"),
    ],
    ids=["zero-bytes", "random-bytes", "csv-renamed"],
)
def test_files_that_are_not_parquet_are_named(tmp_path, content, reason):
    """Issue 14: Arrow's message came without the file name."""
    path = tmp_path / "jets.parquet"
    path.write_bytes(content)
    for load in (hv.datasets.load_parquet, hv.datasets.load_jets):
        with pytest.raises(ValueError, match=r"not a parquet jets file") as info:
            load(str(path))
        assert str(info.value).startswith(f"{path}: not a parquet jets file")
        assert reason in str(info.value)


def test_a_directory_is_a_directory(tmp_path):
    """Issue 14: a directory was called 'no such jets file'."""
    for load in (hv.datasets.load_parquet, hv.datasets.load_jets):
        with pytest.raises(IsADirectoryError, match=rf"^{tmp_path}: is a directory"):
            load(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="no such jets file"):
        hv.datasets.load_jets(str(tmp_path / "nowhere.parquet"))


def test_missing_mass_names_the_field(tmp_path, padded):
    """Issue 14: a missing mass field dumped vector's list of coordinate names."""
    jets = hv.datasets.make_jets(from_padded(*padded), "t")
    p = jets.particles
    bare = ak.zip({"pt": p.pt, "eta": p.eta, "phi": p.phi})
    path = tmp_path / "nomass.parquet"
    ak.to_parquet(ak.with_field(jets, bare, "particles"), path)
    with pytest.raises(ValueError, match=r"lack the field 'particles\.mass'") as info:
        hv.datasets.load_parquet(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert "expected (pt, eta, phi, mass) or (px, py, pz, E)" in message
    assert "x= y= z= t=" not in message  # not vector's list of coordinate combinations
    with pytest.raises(ValueError, match=r"field 'particles'"):  # unchecked: still named
        hv.datasets.load_parquet(path, check=False)


def test_a_file_without_jet_type_is_refused(tmp_path, padded):
    """Issue 14: jets without jet_type were silently taken as gluons downstream."""
    jets = hv.datasets.make_jets(from_padded(*padded), "t")
    path = hv.datasets.save_parquet(ak.without_field(jets, "jet_type"), tmp_path / "j.parquet")
    with pytest.raises(ValueError, match=r"no 'jet_type' field") as info:
        hv.datasets.load_parquet(path)
    assert str(info.value).startswith(f"{path}: ")
    assert "jet_type" not in hv.datasets.load_parquet(path, check=False).fields


def test_saved_file_has_normal_permissions(tmp_path, padded):
    jets = hv.datasets.make_jets(from_padded(*padded), "t")
    path = hv.datasets.save_parquet(jets, tmp_path / "j.parquet")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["j.parquet"]

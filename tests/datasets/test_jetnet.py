from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

import hypervae as hv

h5py = pytest.importorskip("h5py")


def write_jetnet(path, n=20, p=5, with_type=False, seed=0):
    rng = np.random.default_rng(seed)
    pf = np.zeros((n, p, 4))
    counts = rng.integers(1, p + 1, n)
    for j, c in enumerate(counts):
        pt = np.sort(rng.uniform(0.01, 0.3, c))[::-1]
        pf[j, :c] = np.stack([rng.normal(0, 0.1, c), rng.normal(0, 0.1, c), pt, np.ones(c)], -1)
    jf = np.stack(
        [rng.uniform(900, 1100, n), rng.normal(0, 1, n), rng.uniform(10, 200, n), counts], -1
    )
    if with_type:
        jf = np.concatenate([np.full((n, 1), 2.0), jf], axis=1)
    with h5py.File(path, "w") as f:
        f["particle_features"] = pf
        f["jet_features"] = jf
    return pf, jf


def test_read_jetnet_round_trip(tmp_path):
    pf, jf = write_jetnet(tmp_path / "g.hdf5")
    jets = hv.datasets.read_jetnet(tmp_path / "g.hdf5")
    assert len(jets) == 20
    assert set(jets.jet_type.to_list()) == {0}
    assert jets.n_particles.to_list() == pf[..., 3].sum(1).astype(int).tolist()
    rel = hv.physics.to_relative(jets)
    j = 3
    c = int(pf[j, :, 3].sum())
    np.testing.assert_allclose(rel.eta_rel[j].to_numpy(), pf[j, :c, 0], atol=1e-6)
    np.testing.assert_allclose(rel.phi_rel[j].to_numpy(), pf[j, :c, 1], atol=1e-6)
    np.testing.assert_allclose(rel.pt_rel[j].to_numpy(), pf[j, :c, 2], rtol=1e-6)
    np.testing.assert_allclose(jets.mass.to_numpy(), jf[:, 2], rtol=1e-6)
    assert ak.all(jets.particles.mass == 0)


def test_read_jetnet_splits_and_types(tmp_path):
    write_jetnet(tmp_path / "t150.hdf5", n=100, with_type=True)
    parts = {
        s: hv.datasets.read_jetnet(tmp_path / "t150.hdf5", split=s)
        for s in ("train", "val", "test")
    }
    assert [len(parts[s]) for s in ("train", "val", "test")] == [70, 15, 15]
    whole = hv.datasets.read_jetnet(tmp_path / "t150.hdf5")
    idx = hv.datasets.split_indices(100)["test"]
    np.testing.assert_allclose(parts["test"].pt.to_numpy(), whole.pt.to_numpy()[idx])
    assert set(whole.jet_type.to_list()) == {2}
    assert set(
        hv.datasets.read_jetnet(tmp_path / "t150.hdf5", jet_type="q").jet_type.to_list()
    ) == {1}


def test_read_jetnet_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="never downloads"):
        hv.datasets.read_jetnet(tmp_path / "missing.hdf5")
    write_jetnet(tmp_path / "mystery.hdf5")
    with pytest.raises(ValueError, match="cannot infer the jet type"):
        hv.datasets.read_jetnet(tmp_path / "mystery.hdf5")
    with h5py.File(tmp_path / "q.hdf5", "w") as f:
        f["particle_features"] = np.zeros((3, 4, 3))
        f["jet_features"] = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"particle_features must have shape \[N, P, 4\]"):
        hv.datasets.read_jetnet(tmp_path / "q.hdf5")
    with h5py.File(tmp_path / "w.hdf5", "w") as f:
        f["particle_features"] = np.zeros((3, 4, 4))
    with pytest.raises(ValueError, match="missing dataset 'jet_features'"):
        hv.datasets.read_jetnet(tmp_path / "w.hdf5")


@pytest.mark.parametrize("content", [b"", b"pt,eta\n1,2\n"], ids=["zero-bytes", "csv-renamed"])
def test_read_jetnet_names_a_file_that_is_not_hdf5(tmp_path, content):
    path = tmp_path / "t.hdf5"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"t\.hdf5: not an HDF5 JetNet file"):
        hv.datasets.read_jetnet(path)
    with pytest.raises(IsADirectoryError, match="is a directory"):
        hv.datasets.read_jetnet(tmp_path)

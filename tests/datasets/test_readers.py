"""The tagging-file readers on small synthetic files of the published layouts."""

from __future__ import annotations

import numpy as np
import pytest

from hypervae.datasets.readers import read_hls4ml, read_quark_gluon, read_top_tagging

h5py = pytest.importorskip("h5py")

HLS_PARTICLE_NAMES = [
    f"j1_{c}"
    for c in (
        "px", "py", "pz", "e", "erel", "pt", "ptrel", "eta", "etarel", "etarot",
        "phi", "phirel", "phirot", "deltaR", "costheta", "costhetarel",
    )
]  # fmt: skip


def _hls_file(path, onehot, with_names=True):
    n = len(onehot)
    rng = np.random.default_rng(0)
    parts = np.zeros((n, 150, 16), dtype=np.float32)
    counts = [3, 1, 150][:n]
    for j, c in enumerate(counts):
        parts[j, :c, :3] = rng.normal(size=(c, 3)) * 10
        parts[j, :c, 3] = np.linalg.norm(parts[j, :c, :3], axis=1) + 1.0
        parts[j, :c, 5] = 7.0 + j  # pt column, kept as a feature
    jets = np.zeros((n, 59), dtype=np.float32)
    names = [f"col{i}" for i in range(59)]
    for i, c in enumerate(["j_g", "j_q", "j_w", "j_z", "j_t", "j_undef"]):
        names[53 + i] = c
    jets[:, 53:58] = onehot
    with h5py.File(path, "w") as f:
        f["jetConstituentList"] = parts
        f["jets"] = jets
        if with_names:
            f["particleFeatureNames"] = np.array([s.encode() for s in HLS_PARTICLE_NAMES])
            f["jetFeatureNames"] = np.array([s.encode() for s in names])
    return parts, counts


@pytest.mark.parametrize("with_names", [True, False])
def test_hls4ml_reader_maps_onehot_to_jet_type_codes(tmp_path, with_names):
    # one-hot columns in file order j_g, j_q, j_w, j_z, j_t: a W, a top, a gluon
    onehot = np.array([[0, 0, 1, 0, 0], [0, 0, 0, 0, 1], [1, 0, 0, 0, 0]])
    parts, counts = _hls_file(tmp_path / "h.h5", onehot, with_names)
    data = read_hls4ml(tmp_path / "h.h5")
    assert data.target.tolist() == [3, 2, 0]  # w=3, t=2, g=0
    assert data.class_names == ("g", "q", "t", "w", "z")
    assert data.mask.sum(1).tolist() == counts
    assert data.p4.shape == (3, 150, 4)
    assert data.p4.dtype == np.float64
    np.testing.assert_allclose(data.p4[0, :3, 0], parts[0, :3, 3])  # E
    np.testing.assert_allclose(data.p4[0, :3, 1:], parts[0, :3, :3])  # px, py, pz
    assert np.all(data.p4[~data.mask] == 0)
    assert data.features is not None
    assert data.features.shape == (3, 150, 16)
    if with_names:
        assert data.feature_names[:4] == ("px", "py", "pz", "e")


def test_hls4ml_reader_refuses_a_bad_target_row_and_a_missing_dataset(tmp_path):
    _hls_file(tmp_path / "h.h5", np.array([[0, 0, 1, 0, 0], [0, 1, 1, 0, 0]]))
    with pytest.raises(ValueError, match=r"jet 1 has target row \[0.0, 1.0, 0.0, 1.0, 0.0\]"):
        read_hls4ml(tmp_path / "h.h5")
    with h5py.File(tmp_path / "empty.h5", "w") as f:
        f["jets"] = np.zeros((1, 59))
    with pytest.raises(ValueError, match="no 'jetConstituentList' dataset"):
        read_hls4ml(tmp_path / "empty.h5")
    with pytest.raises(FileNotFoundError, match=r"path: .*nope\.h5 is not a file"):
        read_hls4ml(tmp_path / "nope.h5")


def _top_columns(n, n_particles):
    rng = np.random.default_rng(1)
    cols = {}
    for i in range(n_particles):
        p = rng.normal(size=(n, 3)) * 20 * (i < 2)
        cols[f"E_{i}"] = np.linalg.norm(p, axis=1) + (i < 2) * 1.0
        cols[f"PX_{i}"], cols[f"PY_{i}"], cols[f"PZ_{i}"] = p.T
    cols["truthE"] = np.ones(n)
    cols["ttv"] = np.zeros(n, dtype=np.int64)
    cols["is_signal_new"] = np.array([1, 0, 1][:n], dtype=np.int64)
    return cols


def test_top_tagging_reader_fixed_pandas_layout(tmp_path):
    cols = _top_columns(3, 200)
    floats = [c for c in cols if cols[c].dtype.kind == "f"]
    ints = [c for c in cols if cols[c].dtype.kind == "i"]
    with h5py.File(tmp_path / "train.h5", "w") as f:  # what pandas.to_hdf(format="fixed") writes
        g = f.create_group("table")
        g["axis0"] = np.array([c.encode() for c in floats + ints])
        g["axis1"] = np.arange(3)
        g["block0_items"] = np.array([c.encode() for c in floats])
        g["block0_values"] = np.stack([cols[c] for c in floats], 1)
        g["block1_items"] = np.array([c.encode() for c in ints])
        g["block1_values"] = np.stack([cols[c] for c in ints], 1)
    data = read_top_tagging(tmp_path / "train.h5")
    assert data.p4.shape == (3, 200, 4)
    assert data.target.tolist() == [1, 0, 1]
    assert data.class_names == ("qcd", "top")
    assert data.mask.sum(1).tolist() == [2, 2, 2]
    np.testing.assert_allclose(data.p4[2, 1], [cols[f"{c}_1"][2] for c in ("E", "PX", "PY", "PZ")])
    short = read_top_tagging(tmp_path / "train.h5", max_particles=30)
    assert short.p4.shape == (3, 30, 4)


def test_top_tagging_reader_compound_table_and_missing_column(tmp_path):
    cols = _top_columns(2, 5)
    dtype = np.dtype([(c, cols[c].dtype) for c in cols])
    arr = np.zeros(2, dtype=dtype)
    for c in cols:
        arr[c] = cols[c]
    with h5py.File(tmp_path / "t.h5", "w") as f:
        f["table"] = arr
    data = read_top_tagging(tmp_path / "t.h5", max_particles=5)
    assert data.p4.shape == (2, 5, 4)
    assert data.target.tolist() == [1, 0]
    with pytest.raises(ValueError, match=r"missing column\(s\) \['E_5', 'PX_5'"):
        read_top_tagging(tmp_path / "t.h5", max_particles=6)


def test_quark_gluon_reader_builds_massless_momenta(tmp_path):
    x = np.zeros((2, 4, 4))
    x[0, :2] = [[100.0, 0.5, 1.0, 22], [20.0, -0.3, -2.0, -211]]
    x[1, :1] = [[300.0, 1.2, 3.0, 2112]]
    np.savez(tmp_path / "QG_jets.npz", X=x, y=np.array([1.0, 0.0]))
    data = read_quark_gluon(tmp_path / "QG_jets.npz")
    assert data.mask.sum(1).tolist() == [2, 1]
    assert data.target.tolist() == [1, 0]
    assert data.class_names == ("gluon", "quark")
    e, px, py, pz = data.p4[0, 0]
    np.testing.assert_allclose([np.hypot(px, py), np.arctanh(pz / e), np.arctan2(py, px)],
                               [100.0, 0.5, 1.0])  # fmt: skip
    np.testing.assert_allclose(e**2 - px**2 - py**2 - pz**2, 0.0, atol=1e-9)
    assert data.features is not None
    assert data.features[0, 1, 0] == -211
    np.savez(tmp_path / "bad.npz", X=x[..., :3], y=np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"X \(2, 4, 3\) and y \(2,\); expected \[N, M, 4\]"):
        read_quark_gluon(tmp_path / "bad.npz")

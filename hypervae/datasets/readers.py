r"""Readers for public jet-tagging files a user already has on disk (nothing is downloaded).

Each reader returns a :class:`TaggingArrays`: padded 4-momenta ``(E, px, py, pz)`` in GeV
(float64), a mask of real particles, and integer class targets. Torch-free; HDF5 files
need ``h5py`` (the ``jetnet`` extra), imported only when an HDF5 file is read.

* :func:`read_hls4ml` -- the hls4ml LHC jet data set, 150 particles, 5 classes
  (``jetConstituentList [N, 150, 16]``, ``jets [N, 59]``): targets from the one-hot
  columns ``j_g, j_q, j_w, j_z, j_t`` mapped to hypervae's jet-type codes
  ``g=0, q=1, t=2, w=3, z=4``.
* :func:`read_top_tagging` -- the top-tagging reference data set (Kasieczka et al.), a
  pandas HDF5 store with columns ``E_0, PX_0, PY_0, PZ_0, ..., PZ_199`` and
  ``is_signal_new`` (target 1 = top).
* :func:`read_quark_gluon` -- the EnergyFlow quark/gluon ``.npz`` files (``X [N, M, 4]``
  = ``(pt, y, phi, pid)``, ``y``; target 1 = quark).

Example:
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "qg.npz")
    >>> X = np.zeros((2, 3, 4)); X[:, 0] = [100.0, 0.1, 0.2, 22]; X[1, 1] = [50.0, 0, 0, 211]
    >>> np.savez(path, X=X, y=np.array([1.0, 0.0]))
    >>> data = read_quark_gluon(path)
    >>> data.p4.shape, data.mask.sum(1).tolist(), data.target.tolist()
    ((2, 3, 4), [1, 2], [1, 0])
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._optional import require

__all__ = [
    "HLS4ML_CLASS_COLUMNS",
    "TaggingArrays",
    "read_hls4ml",
    "read_quark_gluon",
    "read_top_tagging",
]

#: One-hot target columns of the hls4ml ``jets`` array and hypervae's code for each.
HLS4ML_CLASS_COLUMNS = {"j_g": 0, "j_q": 1, "j_t": 2, "j_w": 3, "j_z": 4}
#: hls4ml ``jetFeatureNames`` layout used when a file does not store the names.
_HLS4ML_DEFAULT_LABEL_INDEX = {"j_g": 53, "j_q": 54, "j_w": 55, "j_z": 56, "j_t": 57}


@dataclass(frozen=True)
class TaggingArrays:
    """Padded jets and their class targets (numpy).

    Attributes:
        p4: ``[N, P, 4]`` ``(E, px, py, pz)`` in GeV, float64, zero on padding.
        mask: ``[N, P]`` bool, ``True`` for real particles.
        target: ``[N]`` int64 class index.
        class_names: Name of each class index.
        features: Per-particle features stored in the file (``[N, P, F]``) or ``None``.
        feature_names: Their names.
    """

    p4: np.ndarray
    mask: np.ndarray
    target: np.ndarray
    class_names: tuple[str, ...]
    features: np.ndarray | None = None
    feature_names: tuple[str, ...] = ()

    def __len__(self) -> int:
        return int(self.p4.shape[0])


def _h5py(purpose: str) -> Any:
    return require("h5py", "jetnet", purpose)


def _names(raw: Any) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(raw).ravel()]


def _path(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if not p.is_file():
        msg = f"path: {p} is not a file"
        raise FileNotFoundError(msg)
    return p


def read_hls4ml(path: str | os.PathLike[str]) -> TaggingArrays:
    """Reads one hls4ml 150-particle jet file (``jetImage_*_150p_*.h5``).

    The particle 4-momentum is taken from the stored ``j1_e, j1_px, j1_py, j1_pz``
    columns (found by ``particleFeatureNames``, else the published order ``px, py, pz,
    e, ...`` of :data:`hypervae.taggers.HLS4ML_FEATURE_NAMES`); a particle is real when
    its energy is positive. The one-hot columns are found by ``jetFeatureNames`` when the
    file stores it, else at the published indices 53-57.

    Raises:
        ValueError: A missing dataset, a wrong shape, or a jet whose one-hot target row
            does not have exactly one 1 among the five classes (its index is named).
    """
    p = _path(path)
    h5py = _h5py("read_hls4ml")
    with h5py.File(p, "r") as f:
        for key in ("jetConstituentList", "jets"):
            if key not in f:
                msg = f"{p}: no '{key}' dataset; expected an hls4ml 150-particle jet file"
                raise ValueError(msg)
        parts = np.asarray(f["jetConstituentList"], dtype=np.float64)
        jets = np.asarray(f["jets"], dtype=np.float64)
        pnames = _names(f["particleFeatureNames"]) if "particleFeatureNames" in f else None
        jnames = _names(f["jetFeatureNames"]) if "jetFeatureNames" in f else None
    if parts.ndim != 3 or jets.ndim != 2 or parts.shape[0] != jets.shape[0]:
        msg = f"{p}: jetConstituentList {parts.shape} and jets {jets.shape} disagree"
        raise ValueError(msg)
    if pnames is None:
        from_order = ("px", "py", "pz", "e")
        idx = [from_order.index(c) for c in ("e", "px", "py", "pz")]
        pnames = [f"j1_{c}" for c in ("px", "py", "pz", "e")] + [
            f"feature_{i}" for i in range(4, parts.shape[2])
        ]
    else:
        try:
            idx = [pnames.index(f"j1_{c}") for c in ("e", "px", "py", "pz")]
        except ValueError:
            msg = f"{p}: particleFeatureNames lacks one of j1_e, j1_px, j1_py, j1_pz"
            raise ValueError(msg) from None
    if jnames is not None:
        missing = [c for c in HLS4ML_CLASS_COLUMNS if c not in jnames]
        if missing:
            msg = f"{p}: jetFeatureNames lacks the target column(s) {missing}"
            raise ValueError(msg)
        cols = {c: jnames.index(c) for c in HLS4ML_CLASS_COLUMNS}
    else:
        cols = _HLS4ML_DEFAULT_LABEL_INDEX
        if jets.shape[1] <= max(cols.values()):
            msg = f"{p}: jets has {jets.shape[1]} columns and no jetFeatureNames"
            raise ValueError(msg)
    onehot = np.stack([jets[:, cols[c]] for c in HLS4ML_CLASS_COLUMNS], axis=1)
    bad = np.flatnonzero((onehot == 1).sum(1) != 1)
    if bad.size:
        msg = f"{p}: jet {int(bad[0])} has target row {onehot[bad[0]].tolist()}; expected one-hot"
        raise ValueError(msg)
    target = onehot.argmax(1).astype(np.int64)  # column order of HLS4ML_CLASS_COLUMNS = codes
    p4 = parts[..., idx]
    mask = p4[..., 0] > 0
    p4 = np.where(mask[..., None], p4, 0.0)
    names = tuple(n.removeprefix("j1_") for n in pnames)
    return TaggingArrays(p4, mask, target, ("g", "q", "t", "w", "z"), parts, names)


def _table_columns(node: Any, path: Path) -> dict[str, np.ndarray]:
    """Columns of a pandas HDF5 node: the ``fixed`` layout (``blockK_items`` and
    ``blockK_values``) or a compound dataset with one field per column."""
    h5py = _h5py("read_top_tagging")
    if isinstance(node, h5py.Dataset):
        if node.dtype.names is None:
            msg = f"{path}: 'table' is a dataset without named columns"
            raise ValueError(msg)
        arr = np.asarray(node)
        return {name: arr[name] for name in node.dtype.names}
    columns: dict[str, np.ndarray] = {}
    k = 0
    while f"block{k}_items" in node:
        names = _names(node[f"block{k}_items"])
        values = np.asarray(node[f"block{k}_values"])
        for i, name in enumerate(names):
            columns[name] = values[:, i]
        k += 1
    if not columns:
        msg = (
            f"{path}: 'table' has neither blockK_items/blockK_values (pandas fixed format) "
            "nor named columns; write it with pandas.to_hdf(format='fixed')"
        )
        raise ValueError(msg)
    return columns


def read_top_tagging(path: str | os.PathLike[str], max_particles: int = 200) -> TaggingArrays:
    """Reads a top-tagging reference file (``train.h5``, ``val.h5``, ``test.h5``).

    Assumption: the file is a pandas store written with key ``table`` in the ``fixed``
    format, as the published files are, so ``/table`` holds ``blockK_items`` (column
    names) and ``blockK_values`` (a 2D array per dtype); a compound dataset ``/table``
    with one field per column is read too. Particles are ordered by pT in the files and
    padded with zeros (a particle is real when ``E > 0``).

    Arguments:
        path: The ``.h5`` file.
        max_particles: Leading particles kept (the files hold 200).

    Raises:
        ValueError: A column ``E_i``...``PZ_i`` (``i < max_particles``) or
            ``is_signal_new`` is missing (named).
    """
    p = _path(path)
    h5py = _h5py("read_top_tagging")
    with h5py.File(p, "r") as f:
        if "table" not in f:
            msg = f"{p}: no 'table' node; expected a pandas store written with key 'table'"
            raise ValueError(msg)
        columns = _table_columns(f["table"], p)
    wanted = [f"{c}_{i}" for i in range(max_particles) for c in ("E", "PX", "PY", "PZ")]
    missing = [c for c in [*wanted, "is_signal_new"] if c not in columns]
    if missing:
        msg = f"{p}: missing column(s) {missing[:4]}{'...' if len(missing) > 4 else ''}"
        raise ValueError(msg)
    n = len(columns["is_signal_new"])
    p4 = np.stack([columns[c].astype(np.float64) for c in wanted], 1).reshape(n, -1, 4)
    mask = p4[..., 0] > 0
    target = np.asarray(columns["is_signal_new"]).astype(np.int64)
    return TaggingArrays(np.where(mask[..., None], p4, 0.0), mask, target, ("qcd", "top"))


def read_quark_gluon(path: str | os.PathLike[str]) -> TaggingArrays:
    """Reads an EnergyFlow quark/gluon file (``QG_jets*.npz``: ``X``, ``y``).

    ``X [N, M, 4]`` holds ``(pt, y, phi, pid)`` per particle, zero-padded; particles are
    taken massless, ``E = pt cosh y``, ``pz = pt sinh y``; a particle is real when
    ``pt > 0``. The PDG ids are kept as the one feature.

    Raises:
        ValueError: Missing arrays or a wrong shape (named).
    """
    p = _path(path)
    with np.load(p, allow_pickle=False) as f:
        if "X" not in f or "y" not in f:
            msg = f"{p}: expected arrays 'X' and 'y', got {sorted(f.files)}"
            raise ValueError(msg)
        x = np.asarray(f["X"], dtype=np.float64)
        y = np.asarray(f["y"])
    if x.ndim != 3 or x.shape[2] != 4 or y.shape != (x.shape[0],):
        msg = f"{p}: X {x.shape} and y {y.shape}; expected [N, M, 4] and [N]"
        raise ValueError(msg)
    pt, rap, phi, pid = np.moveaxis(x, -1, 0)
    mask = pt > 0
    p4 = np.stack([pt * np.cosh(rap), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(rap)], -1)
    p4 = np.where(mask[..., None], p4, 0.0)
    return TaggingArrays(p4, mask, y.astype(np.int64), ("gluon", "quark"), pid[..., None], ("pid",))

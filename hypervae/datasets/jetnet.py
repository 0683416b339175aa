"""Offline reader for JetNet hdf5 files.

A JetNet file (https://zenodo.org/record/6975118, downloaded by the user beforehand)
holds ``particle_features [N, P, 4]`` = ``(eta_rel, phi_rel, pt_rel, mask)`` and
``jet_features [N, 4]`` = ``(pt, eta, mass, num_particles)`` (a fifth leading column,
the jet type, appears in some versions and is detected). Particles are massless and
the jet azimuth is not stored, so particles are placed at jet azimuth 0.

This module never touches the network.

References:
    | Kansal et al., Particle Cloud Generation with Message Passing Generative
    | Adversarial Networks (2021) https://arxiv.org/abs/2106.11535
"""

from __future__ import annotations

import os
from pathlib import Path

import awkward as ak
import numpy as np

from .._optional import require
from ..physics.kinematics import wrap_phi
from .jets import jet_type_code, make_jets, split_indices

__all__ = ["read_jetnet"]


def read_jetnet(
    path: str | os.PathLike[str],
    jet_type: str | int | None = None,
    split: str = "all",
    seed: int = 42,
) -> ak.Array:
    """Reads a local JetNet hdf5 file into the jets layout.

    Arguments:
        path: The ``.hdf5`` file (e.g. ``g.hdf5``, ``t150.hdf5``).
        jet_type: Jet type of all jets; inferred from the file name (``t.hdf5``,
            ``t150.hdf5``) or a type column when left out.
        split: ``"all"``, or ``"train"``/``"val"``/``"test"`` of JetNet's 70/15/15
            random split with ``seed`` (42, as in the ``jetnet`` package).
        seed: Seed of the split.

    Returns:
        Jets as :func:`hypervae.datasets.make_jets` builds them, particles sorted as in
        the file with masked entries removed.
    """
    h5py = require("h5py", "jetnet", "read_jetnet")
    path = Path(path)
    if path.is_dir():
        msg = f"{path}: is a directory; expected a JetNet .hdf5 file"
        raise IsADirectoryError(msg)
    if not path.is_file():
        msg = f"JetNet file not found: {path} (read_jetnet never downloads; fetch it first)"
        raise FileNotFoundError(msg)
    try:
        handle = h5py.File(path, "r")
    except OSError as error:  # h5py raises OSError for files that are not HDF5
        reason = "the file is empty, 0 bytes" if path.stat().st_size == 0 else str(error)
        msg = f"{path}: not an HDF5 JetNet file ({reason})"
        raise ValueError(msg) from None
    with handle as f:
        for key in ("particle_features", "jet_features"):
            if key not in f:
                msg = f"{path}: missing dataset {key!r} (found {sorted(f.keys())})"
                raise ValueError(msg)
        pf = np.asarray(f["particle_features"], dtype=np.float64)
        jf = np.asarray(f["jet_features"], dtype=np.float64)
    if pf.ndim != 3 or pf.shape[-1] != 4:
        msg = f"{path}: particle_features must have shape [N, P, 4], got {pf.shape}"
        raise ValueError(msg)
    if jf.ndim != 2 or jf.shape[0] != pf.shape[0] or jf.shape[1] not in (4, 5):
        msg = f"{path}: jet_features must have shape [{pf.shape[0]}, 4], got {jf.shape}"
        raise ValueError(msg)
    type_column = None
    if jf.shape[1] == 5:
        type_column, jf = jf[:, 0].astype(np.int64), jf[:, 1:]
    codes: np.ndarray | int
    if jet_type is not None:
        codes = jet_type_code(jet_type)
    elif type_column is not None:
        codes = type_column
    else:
        stem = path.stem.rstrip("0123456789").lower()
        try:
            codes = jet_type_code(stem)
        except ValueError:
            msg = f"{path}: cannot infer the jet type from the file name; pass jet_type="
            raise ValueError(msg) from None
    if split != "all":
        idx = split_indices(pf.shape[0], seed=seed)[split]
        pf, jf = pf[idx], jf[idx]
        if isinstance(codes, np.ndarray):
            codes = codes[idx]
    mask = pf[..., 3] > 0
    counts = mask.sum(axis=1)
    eta_rel, phi_rel, pt_rel = (pf[..., k][mask] for k in range(3))
    jet_pt = np.repeat(jf[:, 0], counts)
    jet_eta = np.repeat(jf[:, 1], counts)
    particles = ak.unflatten(
        ak.zip(
            {
                "pt": pt_rel * jet_pt,
                "eta": eta_rel + jet_eta,
                "phi": wrap_phi(phi_rel),
                "mass": np.zeros_like(pt_rel),
            },
            with_name="Momentum4D",
        ),
        counts,
    )
    return make_jets(
        particles,
        codes,
        pt=jf[:, 0],
        eta=jf[:, 1],
        phi=np.zeros(len(jf)),
        mass=jf[:, 2],
        n_constituents=jf[:, 3].astype(np.int32),
    )

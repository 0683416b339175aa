"""The jets array: particles plus jet-level fields, and its parquet I/O.

Every source of jets in :mod:`hypervae.datasets` returns the same layout::

    N * {
        particles: var * Momentum4D[pt, eta, phi, mass],   # GeV, sorted by pT
        jet_type: int8,      # JetNet code: g=0, q=1, t=2, w=3, z=4
        pt, eta, phi, mass: float32,   # the clustered jet (all its constituents)
        n_particles: int32,  # stored particles (at most the kept number)
        n_constituents: int32,  # constituents of the clustered jet
    }

``jets.particles`` is an awkward array of ``vector`` ``Momentum4D`` records that the
:mod:`hypervae.physics` functions take directly.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from .._compat import renamed_arguments
from .._io import atomic_write
from ..physics.kinematics import cartesian_to_ptetaphim, jet_p4, particles_of

__all__ = [
    "JET_TYPES",
    "jet_type_code",
    "jet_type_name",
    "load_parquet",
    "make_jets",
    "save_parquet",
    "split_indices",
]

JET_TYPES = ("g", "q", "t", "w", "z")


def jet_type_code(jet_type: str | int | np.integer[Any]) -> int:
    """JetNet code of a jet type: ``"g"`` -> 0, ..., ``"z"`` -> 4.

    Examples:
        >>> jet_type_code("t"), jet_type_code(3)
        (2, 3)
    """
    if isinstance(jet_type, str) and jet_type.lower() in JET_TYPES:
        return JET_TYPES.index(jet_type.lower())
    if isinstance(jet_type, int | np.integer) and 0 <= int(jet_type) < len(JET_TYPES):
        return int(jet_type)
    msg = f"unknown jet type {jet_type!r}; expected one of {JET_TYPES} or a code 0-4"
    raise ValueError(msg)


def jet_type_name(code: int | str) -> str:
    """Name of a jet type code (``2`` -> ``"t"``)."""
    return JET_TYPES[jet_type_code(code)]


def make_jets(
    particles: ak.Array,
    jet_type: str | int | Iterable[int],
    pt: Any = None,
    eta: Any = None,
    phi: Any = None,
    mass: Any = None,
    n_constituents: Any = None,
) -> ak.Array:
    """Builds the jets array from particles and optional jet-level values.

    Jet-level values left out are computed from the given particles (their 4-momentum
    sum); ``n_constituents`` defaults to the number of particles.

    Arguments:
        particles: ``N * var * Momentum4D`` particles.
        jet_type: One type for all jets or one per jet (names ``"g"``... or codes 0-4);
            unknown types and lengths other than the number of jets are refused.
        pt, eta, phi, mass, n_constituents: Jet-level values, one per jet.

    Examples:
        >>> from hypervae.physics import from_padded
        >>> parts = from_padded(np.array([[[5.0, 3, 0, 4]]]), np.array([[True]]))
        >>> jets = make_jets(parts, "q")
        >>> int(jets.jet_type[0]), float(jets.pt[0]), int(jets.n_particles[0])
        (1, 3.0, 1)
    """
    particles = particles_of(particles)
    n = len(particles)
    codes = _type_codes(jet_type, n)
    given = (pt, eta, phi, mass)
    per_jet = {"pt": pt, "eta": eta, "phi": phi, "mass": mass, "n_constituents": n_constituents}
    for name, value in per_jet.items():
        if value is not None and np.shape(value) != (n,):
            msg = f"{name}: expected one value per jet, shape ({n},), got shape {np.shape(value)}"
            raise ValueError(msg)
    computed = cartesian_to_ptetaphim(jet_p4(particles)) if n else [np.zeros(0)] * 4
    values = [
        np.asarray(computed[k] if given[k] is None else given[k], dtype=np.float32)
        for k in range(4)
    ]
    counts = ak.to_numpy(ak.num(particles, axis=1)).astype(np.int32)
    n_const = counts if n_constituents is None else np.asarray(n_constituents, dtype=np.int32)
    return ak.zip(
        {
            "particles": particles,
            "jet_type": codes,
            "pt": values[0],
            "eta": values[1],
            "phi": values[2],
            "mass": values[3],
            "n_particles": counts,
            "n_constituents": n_const,
        },
        depth_limit=1,
    )


def _type_codes(jet_type: Any, n: int) -> np.ndarray:
    """int8 codes of ``n`` jets from one type or one type (name or code) per jet."""
    if isinstance(jet_type, str | int | np.integer):
        return np.full(n, jet_type_code(jet_type), dtype=np.int8)
    values = np.asarray(jet_type)
    if values.shape != (n,):
        msg = (
            f"jet_type: expected one type for all jets or one per jet, got {values.size} "
            f"entries for {n} jets (shape {values.shape})"
        )
        raise ValueError(msg)
    if values.dtype.kind in "iuf":
        bad = ~((values >= 0) & (values < len(JET_TYPES)) & (values == np.round(values)))
        if np.any(bad):
            k = int(np.argmax(bad))
            _code_of_jet(values[k].item(), k)  # raises with the jet's index
        return values.astype(np.int8)
    items = values.tolist() if isinstance(jet_type, np.ndarray) else list(jet_type)
    return np.array([_code_of_jet(v, k) for k, v in enumerate(items)], dtype=np.int8)


def _code_of_jet(value: Any, index: int) -> int:
    try:
        return jet_type_code(value)
    except ValueError as exc:
        msg = f"jet_type[{index}]: {exc}"
        raise ValueError(msg) from None


@renamed_arguments(n="n_jets")
def split_indices(
    n_jets: int, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15), seed: int = 42
) -> dict[str, np.ndarray]:
    """Random train/val/test indices (JetNet's 70/15/15 with seed 42 by default).

    Examples:
        >>> parts = split_indices(20)
        >>> [len(parts[k]) for k in ("train", "val", "test")]
        [14, 3, 3]
    """
    if not np.isclose(sum(fractions), 1.0) or min(fractions) < 0:
        msg = f"fractions must be non-negative and add up to 1, got {fractions}"
        raise ValueError(msg)
    perm = np.random.default_rng(seed).permutation(n_jets)
    n_train = round(fractions[0] * n_jets)
    n_val = round(fractions[1] * n_jets)
    return {
        "train": np.sort(perm[:n_train]),
        "val": np.sort(perm[n_train : n_train + n_val]),
        "test": np.sort(perm[n_train + n_val :]),
    }


def save_parquet(jets: ak.Array, path: str | os.PathLike[str], compression_level: int = 19) -> Path:
    """Writes jets to a parquet file atomically (temporary file, then rename).

    Floats are stored with byte-stream splitting and zstd compression.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: Path) -> None:
        ak.to_parquet(
            jets,
            str(tmp),
            compression="zstd",
            compression_level=compression_level,
            parquet_byte_stream_split=True,
            parquet_dictionary_encoding=False,
            extensionarray=False,
        )

    atomic_write(path, write)
    return path


def load_parquet(path: str | os.PathLike[str], check: bool = True) -> ak.Array:
    """Reads jets written by :func:`save_parquet` (``Momentum4D`` behaviour attached).

    Arguments:
        path: The parquet file.
        check: Validate the jets with :func:`hypervae.datasets.check_jets` (vectorised,
            about 5 ms per 1,000 jets of 30 particles) and require the ``jet_type``
            field; turn off only to inspect a broken file.

    Raises:
        FileNotFoundError: No such file.
        IsADirectoryError: ``path`` is a directory.
        ValueError: The file is not a parquet jets file (empty, not parquet, no
            ``particles`` or ``jet_type`` field) or holds invalid jets; the message
            names the file (and the field and jet).

    Examples:
        >>> import tempfile
        >>> bad = Path(tempfile.mkdtemp()) / "jets.parquet"
        >>> _ = bad.write_text("pt,eta\\n1,2\\n")
        >>> load_parquet(bad)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: .../jets.parquet: not a parquet jets file (ArrowInvalid: Parquet magic bytes ...
    """
    path = Path(path)
    if path.is_dir():
        msg = f"{path}: is a directory; expected a parquet jets file"
        raise IsADirectoryError(msg)
    if not path.exists():
        msg = f"no such jets file: {path}"
        raise FileNotFoundError(msg)
    expected = "expected a file written by hypervae.datasets.save_parquet"
    try:
        jets = ak.from_parquet(path)
    except Exception as error:  # noqa: BLE001 - pyarrow raises many error types here
        size = path.stat().st_size
        reason = "the file is empty, 0 bytes" if size == 0 else _first_line(error)
        msg = f"{path}: not a parquet jets file ({reason}); {expected}"
        raise ValueError(msg) from None
    fields = ak.fields(jets)
    if "particles" not in fields:
        msg = f"{path}: not a parquet jets file (no 'particles' field; fields {fields}); {expected}"
        raise ValueError(msg)
    if check:
        if "jet_type" not in fields:
            msg = (
                f"{path}: no 'jet_type' field (fields {fields}); every jets file records each "
                f"jet's type ({', '.join(f'{t}={k}' for k, t in enumerate(JET_TYPES))}): "
                "write it with hypervae.datasets.make_jets(particles, jet_type)"
            )
            raise ValueError(msg)
        from .checks import check_jets  # here: checks imports this module

        jets = check_jets(jets, where=str(path))
    try:
        particles = ak.with_name(jets["particles"], "Momentum4D")
    except TypeError as error:  # vector refuses records that are not 4-vectors
        msg = f"{path}: field 'particles': {_first_line(error)}"
        raise ValueError(msg) from None
    return ak.with_field(jets, particles, "particles")


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__

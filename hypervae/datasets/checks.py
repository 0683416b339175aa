r"""Validation of user jets at the public entry points, with errors that say what is wrong.

:func:`check_jets` takes jets (the layout of :func:`hypervae.datasets.make_jets`) or bare
particle lists (``N * var * Momentum4D``) and refuses, with a message that names the
field, the first offending jet (and particle) and how many jets are affected:

- objects that are not awkward arrays, arrays that are not lists of particle records,
  non-numeric fields (:class:`TypeError`);
- missing fields, missing values (``None``), jets without particles, unknown jet types,
  NaN or infinite values, negative :math:`p_T`, negative energy, and particles with
  :math:`E < |\vec p|` beyond a relative tolerance, that is
  :math:`m^2 = E^2 - |\vec p|^2 < -\mathrm{tol}\, E^2` (:class:`ValueError`);
- jets with more particles than ``max_particles`` (with ``overflow="error"``; with
  ``overflow="truncate"`` it keeps their leading particles by :math:`p_T` instead, and
  says so with a :class:`UserWarning`).

Particle records may use any ``vector`` ``Momentum4D`` coordinates (``pt, eta, phi,
mass`` or ``px, py, pz, E`` and their aliases). A negative mass follows ``vector``'s
convention (:math:`m^2 = -|m|^2`, a space-like vector). Degenerate but valid jets pass:
a single particle, collinear or identical particles, massless or zero-:math:`p_T`
particles. The work is vectorised over all particles (no Python loop over jets).
"""

from __future__ import annotations

import warnings
from typing import Any

import awkward as ak
import numpy as np

from .jets import JET_TYPES, jet_type_code

__all__ = ["ENERGY_TOL", "OVERFLOW_MODES", "check_jets"]

#: Default relative tolerance of the energy check, :math:`m^2 \geq -\mathrm{tol}\,E^2`.
#: Float32 rounding of massless particles gives :math:`m^2/E^2` down to about -1e-6.
ENERGY_TOL = 1e-4

OVERFLOW_MODES = ("error", "truncate")

# vector's coordinate names of a Momentum4D, by group: each option is a set of fields
# that together fix the group
_GROUPS = {
    "azimuthal": (("pt", "phi"), ("px", "py"), ("rho", "phi"), ("x", "y")),
    "longitudinal": (("eta",), ("pz",), ("theta",), ("z",)),
    "temporal": (("mass",), ("E",), ("M",), ("m",), ("tau",), ("e",), ("energy",), ("t",)),
}
_MASS_NAMES = ("mass", "M", "m", "tau")
_CARTESIAN = {"px", "py", "pz", "E"}
_JET_FLOATS = ("pt", "eta", "phi", "mass")


def check_jets(
    jets: Any,
    *,
    max_particles: int | None = None,
    overflow: str = "error",
    energy_tol: float = ENERGY_TOL,
    where: str = "jets",
) -> ak.Array:
    r"""Validates jets (or bare particle lists) and returns them, truncated if asked.

    Arguments:
        jets: Jets, records with a ``particles`` field (:func:`make_jets` layout), or
            particles ``N * var * Momentum4D``.
        max_particles: Largest number of particles per jet; ``None`` for no limit.
        overflow: What to do with jets above ``max_particles``: ``"error"`` refuses them,
            ``"truncate"`` keeps their ``max_particles`` leading particles by
            :math:`p_T` (hardest first; other jets are unchanged), updates their
            ``n_particles`` field and warns with a :class:`UserWarning`.
        energy_tol: Relative tolerance of the check :math:`m^2 \geq -\mathrm{tol}\, E^2`.
        where: Name of the input in error messages (for example the calling function).

    Returns:
        The same kind of array as ``jets``, with particle records named ``Momentum4D``
        (so that ``vector`` behaviour is attached) and truncated as above.

    Raises:
        TypeError: For something other than an awkward array of particle records, or a
            field that is not numeric.
        ValueError: For a missing field, a missing value, an empty jet, an unknown jet
            type, a non-finite value, negative :math:`p_T` or energy, :math:`E < |\vec p|`
            beyond ``energy_tol`` or, with ``overflow="error"``, too many particles.

    Examples:
        >>> from hypervae.datasets import make_jets
        >>> from hypervae.physics import from_padded
        >>> p4 = np.array([[[5.0, 3, 0, 4], [2.0, 0, 1, 1]], [[1.0, 0, 0, 1], [0, 0, 0, 0]]])
        >>> jets = make_jets(from_padded(p4, p4[..., 0] > 0), "t")
        >>> len(check_jets(jets))
        2
        >>> check_jets(jets, max_particles=1)
        Traceback (most recent call last):
        ...
        ValueError: jets: jet 0: has 2 particles; expected at most max_particles=1 (1 of 2 jets affected); pass overflow='truncate' to keep the 1 leading-pT particles of each jet
        >>> bad = ak.with_field(jets, ak.Array([9, 2]), "jet_type")
        >>> check_jets(bad, where="evaluate(real)")
        Traceback (most recent call last):
        ...
        ValueError: evaluate(real): jet 0: field 'jet_type': unknown jet type 9; expected one of ('g', 'q', 't', 'w', 'z') or a code 0-4 (1 of 2 jets affected)
    """
    if overflow not in OVERFLOW_MODES:
        msg = f"overflow must be one of {OVERFLOW_MODES}, got {overflow!r}"
        raise ValueError(msg)
    limit: object = max_particles  # checked at run time: values come from CLIs and JSON
    if limit is not None and not (isinstance(limit, int | np.integer) and limit >= 1):
        msg = f"max_particles must be None or a positive integer, got {max_particles!r}"
        raise ValueError(msg)
    particles, is_jets = _particles(jets, where)
    n_jets = len(particles)
    prefix = "particles." if is_jets else ""
    if n_jets == 0:
        return jets
    counts = ak.to_numpy(ak.num(particles, axis=1)).astype(np.int64)
    empty = counts == 0
    if np.any(empty):
        jet = int(np.argmax(empty))
        msg = (
            f"{where}: jet {jet}: has no particles; expected at least 1 particle per jet "
            f"({int(empty.sum())} of {n_jets} jets are empty)"
        )
        raise ValueError(msg)
    jet_of = np.repeat(np.arange(n_jets), counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    flat = ak.flatten(particles, axis=1)
    fields = _coordinate_fields(ak.fields(flat), where, prefix)

    def fail(bad: np.ndarray, field: str, what: Any, expected: str) -> None:
        """Raises for the first True entry of a per-particle ``bad`` mask."""
        first = int(np.argmax(bad))
        jet = int(jet_of[first])
        n_bad = np.unique(jet_of[bad]).size
        text = what(first) if callable(what) else what
        msg = (
            f"{where}: jet {jet}, particle {first - int(starts[jet])}: field "
            f"'{prefix}{field}' {text}; expected {expected} ({n_bad} of {n_jets} jets affected)"
        )
        raise ValueError(msg)

    values = {}
    for name in fields:
        _check_numeric(flat[name], f"{prefix}{name}", where)
        column = flat[name]
        if isinstance(ak.type(column).content, ak.types.OptionType):
            missing = ak.to_numpy(ak.is_none(column, axis=0))
            if np.any(missing):
                fail(missing, name, "is missing (None)", "a number")
            column = ak.fill_none(column, 0)
        values[name] = ak.to_numpy(column).astype(np.float64)
        bad = ~np.isfinite(values[name])
        if np.any(bad):
            fail(bad, name, lambda i, v=values[name]: f"is {v[i]}", "finite numbers")
    pt = _check_momenta(values, fields, fail, energy_tol)
    if is_jets:  # after the particles, whose NaN would otherwise show up in jet sums first
        _check_jet_fields(jets, where)
    if max_particles is not None and np.any(counts > max_particles):
        args = (counts, pt, max_particles, overflow, where)
        return _overflow(jets, particles, is_jets, *args)
    if particles.layout.purelist_parameter("__record__") != "Momentum4D":
        particles = ak.with_name(particles, "Momentum4D")
        return ak.with_field(jets, particles, "particles") if is_jets else particles
    return jets


def _particles(jets: Any, where: str) -> tuple[ak.Array, bool]:
    """The particle lists of ``jets`` and whether ``jets`` are jet records."""
    if isinstance(jets, ak.Record):
        msg = (
            f"{where}: expected an awkward Array of jets, got a single ak.Record; "
            "pass jets[i : i + 1] instead of jets[i]"
        )
        raise TypeError(msg)
    if isinstance(jets, np.ndarray):
        msg = (
            f"{where}: expected an awkward Array of jets or particles "
            f"(N * var * Momentum4D), got a numpy array of shape {jets.shape} and dtype "
            f"{jets.dtype}; padded (E, px, py, pz) arrays convert with "
            "hypervae.physics.from_padded(p4, mask)"
        )
        raise TypeError(msg)
    if not isinstance(jets, ak.Array):
        msg = (
            f"{where}: expected an awkward Array of jets or particles "
            f"(N * var * Momentum4D), got {type(jets).__name__}"
        )
        raise TypeError(msg)
    fields = ak.fields(jets)
    is_jets = "particles" in fields
    if is_jets:
        particles = jets["particles"]
    elif fields and jets.ndim == 1:
        try:
            _coordinate_fields(fields, where, "")
            what = "a flat array of particle records"
        except ValueError:
            what = "records"
        msg = (
            f"{where}: no field 'particles' (fields present: {fields}); expected jets with a "
            f"'particles' field or particles N * var * Momentum4D, got {what} of type "
            f"{jets.type}"
        )
        raise ValueError(msg)
    else:
        particles = jets
    name = "field 'particles'" if is_jets else "the particle list"
    if particles.ndim != 2:
        msg = (
            f"{where}: {name} has type {particles.type} ({particles.ndim} dimensions); "
            "expected one list of particle records per jet, N * var * Momentum4D"
        )
        raise ValueError(msg)
    if not ak.fields(particles):
        msg = (
            f"{where}: {name} has type {particles.type}; expected particle records "
            "N * var * Momentum4D with fields (pt, eta, phi, mass) or (px, py, pz, E)"
        )
        raise TypeError(msg)
    missing = ak.to_numpy(ak.is_none(particles, axis=0))
    if np.any(missing):
        msg = (
            f"{where}: jet {int(np.argmax(missing))}: {name} is missing (None); expected a "
            f"list of particles ({int(missing.sum())} of {len(particles)} jets affected)"
        )
        raise ValueError(msg)
    return particles, is_jets


def _coordinate_fields(present: list[str], where: str, prefix: str) -> tuple[str, ...]:
    """The fields that fix the 4-momentum, one option per group of :data:`_GROUPS`."""
    chosen: list[str] = []
    for group, options in _GROUPS.items():
        complete = [opt for opt in options if set(opt) <= set(present)]
        if complete:
            chosen.extend(complete[0])
            continue
        cartesian = bool(_CARTESIAN & set(present))
        best = max(
            options,
            key=lambda opt: (len(set(opt) & set(present)), (opt[0] in _CARTESIAN) == cartesian),
        )
        need = [f for f in best if f not in present]
        msg = (
            f"{where}: particle records lack the field '{prefix}{need[0]}' ({group} "
            f"coordinate; fields present: {present}); expected (pt, eta, phi, mass) or "
            "(px, py, pz, E), or other vector Momentum4D coordinates"
        )
        raise ValueError(msg)
    return tuple(chosen)


def _check_numeric(array: ak.Array, field: str, where: str) -> str:
    """Raises :class:`TypeError` unless ``array`` holds (optional) real numbers."""
    kind = ak.type(array).content
    while isinstance(kind, ak.types.OptionType):
        kind = kind.content
    primitive = kind.primitive if isinstance(kind, ak.types.NumpyType) else ""
    if not primitive.startswith(("int", "uint", "float")):
        msg = f"{where}: field '{field}' has type {kind}; expected real numbers (float32/float64)"
        raise TypeError(msg)
    return primitive


def _floats(array: ak.Array) -> np.ndarray:
    """Numbers as float64 numpy, missing values (``None``) as NaN."""
    if isinstance(ak.type(array).content, ak.types.OptionType):
        array = ak.fill_none(array, np.nan)
    values: np.ndarray = ak.to_numpy(array).astype(np.float64)
    return values


def _check_jet_fields(jets: ak.Array, where: str) -> None:
    """Jet-level ``jet_type`` codes and finite ``pt, eta, phi, mass`` where present."""
    n_jets = len(jets)
    fields = ak.fields(jets)
    for name in [f for f in _JET_FLOATS if f in fields]:
        _check_numeric(jets[name], name, where)
        values = _floats(jets[name])
        bad = ~np.isfinite(values)
        if np.any(bad):
            jet = int(np.argmax(bad))
            msg = (
                f"{where}: jet {jet}: field '{name}' is {values[jet]}; expected a finite "
                f"number ({int(bad.sum())} of {n_jets} jets affected)"
            )
            raise ValueError(msg)
    if "jet_type" not in fields:
        return
    kind = ak.type(jets["jet_type"]).content
    if isinstance(kind, ak.types.ListType | ak.types.RegularType) and kind.parameter(
        "__array__"
    ) in ("string", "bytestring"):
        names = ak.to_list(jets["jet_type"])
        unknown = [jet for jet, value in enumerate(names) if str(value).lower() not in JET_TYPES]
        if unknown:
            msg = (
                f"{where}: jet {unknown[0]}: field 'jet_type': {_type_error(names[unknown[0]])} "
                f"({len(unknown)} of {n_jets} jets affected)"
            )
            raise ValueError(msg)
        msg = (
            f"{where}: field 'jet_type' holds strings; expected integer codes "
            f"({', '.join(f'{t}={k}' for k, t in enumerate(JET_TYPES))}); convert them with "
            "hypervae.datasets.jet_type_code"
        )
        raise TypeError(msg)
    primitive = _check_numeric(jets["jet_type"], "jet_type", where)
    codes = _floats(jets["jet_type"])
    bad = ~((codes >= 0) & (codes < len(JET_TYPES)) & (codes == np.round(codes)))
    if np.any(bad):
        jet = int(np.argmax(bad))
        value = codes[jet].item()
        value = int(value) if primitive.startswith(("int", "uint")) else value
        msg = (
            f"{where}: jet {jet}: field 'jet_type': {_type_error(value)} ({int(bad.sum())} of "
            f"{n_jets} jets affected)"
        )
        raise ValueError(msg)


def _type_error(value: Any) -> str:
    """The message of :func:`jet_type_code` for an unknown jet type ``value``."""
    try:
        jet_type_code(value)
    except ValueError as exc:
        return str(exc)
    return f"unknown jet type {value!r}"  # pragma: no cover - callers pass unknown types


def _check_momenta(
    values: dict[str, np.ndarray], fields: tuple[str, ...], fail: Any, energy_tol: float
) -> np.ndarray:
    """Checks pT, energy and mass of the chosen coordinates; returns pT (float64)."""
    azimuthal, longitudinal, temporal = fields[:2], fields[2], fields[3]
    if azimuthal[1] == "phi":
        pt = values[azimuthal[0]]
        if np.any(pt < 0):
            fail(pt < 0, azimuthal[0], lambda i: f"is {pt[i]}", "pT >= 0")
    else:
        pt = np.hypot(values[azimuthal[0]], values[azimuthal[1]])
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if longitudinal == "eta":
            pz = pt * np.sinh(values["eta"])
        elif longitudinal == "theta":
            pz = np.where(pt > 0, pt / np.tan(values["theta"]), 0.0)
        else:
            pz = values[longitudinal]
        p2 = pt**2 + pz**2
        if temporal in _MASS_NAMES:
            mass = values[temporal]
            m2 = np.copysign(mass**2, mass)
            e2 = np.maximum(p2 + m2, p2)  # E^2, or |p|^2 when m^2 < 0
        else:
            energy = values[temporal]
            if np.any(energy < 0):
                fail(energy < 0, temporal, lambda i: f"is {energy[i]} (negative energy)", "E >= 0")
            m2 = energy**2 - p2
            e2 = energy**2
    overflow = ~np.isfinite(p2) | ~np.isfinite(e2)
    if np.any(overflow):
        fail(overflow, longitudinal, "makes the 4-momentum overflow", "finite E, px, py, pz")
    low = m2 < -energy_tol * e2
    if np.any(low):

        def what(i: int) -> str:
            p, m = np.sqrt(p2[i]), m2[i]
            if temporal in _MASS_NAMES:
                mass = values[temporal][i]
                return f"is {mass:.6g}, a negative mass (m^2 = {m:.6g} GeV^2, |p| = {p:.6g} GeV)"
            return f"is {energy[i]:.6g} GeV < |p| = {p:.6g} GeV (m^2 = E^2 - |p|^2 = {m:.6g} GeV^2)"

        expected = "mass >= 0" if temporal in _MASS_NAMES else "E >= |p|"
        fail(
            low, temporal, what, f"{expected} (m^2 >= -energy_tol * E^2, energy_tol={energy_tol:g})"
        )
    return pt


def _overflow(
    jets: ak.Array,
    particles: ak.Array,
    is_jets: bool,
    counts: np.ndarray,
    pt: np.ndarray,
    max_particles: int,
    overflow: str,
    where: str,
) -> ak.Array:
    over = counts > max_particles
    n_over = int(over.sum())
    if overflow == "error":
        jet = int(np.argmax(over))
        msg = (
            f"{where}: jet {jet}: has {int(counts[jet])} particles; expected at most "
            f"max_particles={max_particles} ({n_over} of {len(counts)} jets affected); pass "
            f"overflow='truncate' to keep the {max_particles} leading-pT particles of each jet"
        )
        raise ValueError(msg)
    jet_of = np.repeat(np.arange(counts.size), counts)
    position = np.arange(jet_of.size) - np.repeat(np.cumsum(counts) - counts, counts)
    key = np.where(over[jet_of], -pt, position.astype(np.float64))  # hardest first
    order = np.lexsort((key, jet_of))  # stable; jets stay contiguous
    keep = order[position < np.minimum(counts, max_particles)[jet_of]]
    new_counts = np.minimum(counts, max_particles)
    kept = ak.unflatten(ak.flatten(particles, axis=1)[keep], new_counts)
    kept = ak.with_name(kept, "Momentum4D")
    warnings.warn(
        f"{where}: truncated {n_over} of {len(counts)} jets to their {max_particles} "
        f"leading-pT particles (max_particles={max_particles}, overflow='truncate')",
        UserWarning,
        stacklevel=3,
    )
    if not is_jets:
        return kept
    out = ak.with_field(jets, kept, "particles")
    if "n_particles" in ak.fields(jets):
        dtype = ak.to_numpy(jets["n_particles"]).dtype
        out = ak.with_field(out, new_counts.astype(dtype), "n_particles")
    return out

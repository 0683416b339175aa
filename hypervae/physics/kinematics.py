r"""Four-momenta of jet constituents: conversions, relative coordinates, jet frame.

Particles live in awkward arrays of ``vector`` ``Momentum4D`` records with fields
``(pt, eta, phi, mass)`` in GeV, one list per jet (``N * var * Momentum4D``). A *jets*
array is a record array with a ``particles`` field plus jet-level fields (see
:func:`hypervae.datasets.make_jets`); every function here accepts either.

Vectorised work happens on padded numpy arrays ``p4[N, P, 4]`` in the order
``(E, px, py, pz)`` with a boolean ``mask[N, P]`` (:func:`to_padded`,
:func:`from_padded`). Every derived quantity is computed in float64 from the stored
coordinates, whatever their storage dtype (float32 jets and float64 jets give the same
features to float64 precision).

The canonical jet frame (:func:`to_jet_frame`) is a Lorentz transformation, a boost
along the beam axis to jet rapidity zero followed by a rotation about it to jet azimuth
zero, followed by a division of all four components by one positive number per jet.
Its inverse (:func:`from_jet_frame`) is exact up to float rounding.

References:
    | Particle Transformer for Jet Tagging (Qu, Li, Qian, 2022)
    | https://arxiv.org/abs/2202.03772
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np
import vector

from .._compat import renamed_arguments

__all__ = [
    "JetFrame",
    "cartesian_to_ptetaphim",
    "from_jet_frame",
    "from_padded",
    "from_relative",
    "jet_p4",
    "particles_of",
    "ptetaphim_to_cartesian",
    "rapidity",
    "to_jet_frame",
    "to_padded",
    "to_relative",
    "wrap_phi",
]

vector.register_awkward()


def particles_of(jets: ak.Array) -> ak.Array:
    """Returns the particle lists of ``jets``.

    Arguments:
        jets: Either particles (``N * var * Momentum4D``) or jets, records with a
            ``particles`` field.

    Returns:
        The ``N * var * Momentum4D`` particle array.
    """
    if not isinstance(jets, ak.Array):
        msg = f"expected an awkward Array of jets or particles, got {type(jets).__name__}"
        raise TypeError(msg)
    fields = ak.fields(jets)
    if "particles" in fields:
        return jets["particles"]
    if jets.ndim != 2:
        msg = (
            "expected particles of type 'N * var * Momentum4D' or jets with a 'particles' "
            f"field, got type {jets.type}"
        )
        raise ValueError(msg)
    return jets


def wrap_phi(phi: Any) -> Any:
    r"""Wraps angles to :math:`(-\pi, \pi]`.

    Examples:
        >>> float(wrap_phi(np.float64(3 * np.pi / 2)))
        -1.5707963267948966
    """
    wrapped = np.mod(phi + np.pi, 2 * np.pi) - np.pi
    return np.where(wrapped <= -np.pi, wrapped + 2 * np.pi, wrapped)


def ptetaphim_to_cartesian(pt: Any, eta: Any, phi: Any, mass: Any = 0.0) -> np.ndarray:
    r"""Converts :math:`(p_T, \eta, \phi, m)` to :math:`(E, p_x, p_y, p_z)`.

    Shapes:
        inputs: broadcastable arrays ``[...]``; output ``[..., 4]``.

    Examples:
        >>> ptetaphim_to_cartesian(3.0, 0.0, 0.0, 4.0).tolist()
        [5.0, 3.0, 0.0, 0.0]
    """
    pt, eta, phi, mass = np.broadcast_arrays(
        *(np.asarray(a, dtype=np.float64) for a in (pt, eta, phi, mass))
    )
    px = pt * np.cos(phi)
    py = pt * np.sin(phi)
    pz = pt * np.sinh(eta)
    energy = np.sqrt((pt * np.cosh(eta)) ** 2 + mass**2)
    return np.stack([energy, px, py, pz], axis=-1)


def cartesian_to_ptetaphim(p4: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Converts :math:`(E, p_x, p_y, p_z)` to :math:`(p_T, \eta, \phi, m)`.

    The mass is :math:`\sqrt{\max(E^2 - |p|^2, 0)}`; :math:`\eta` of a particle with
    zero :math:`p_T` is 0.

    Shapes:
        p4: ``[..., 4]``; outputs ``[...]`` each.

    Examples:
        >>> [float(v) for v in cartesian_to_ptetaphim(np.array([5.0, 3.0, 0.0, 0.0]))]
        [3.0, 0.0, 0.0, 4.0]
    """
    p4 = np.asarray(p4, dtype=np.float64)
    energy, px, py, pz = np.moveaxis(p4, -1, 0)
    pt = np.hypot(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.where(pt > 0, np.arcsinh(pz / np.where(pt > 0, pt, 1.0)), 0.0)
    phi = np.arctan2(py, px)
    m2 = energy**2 - (px**2 + py**2 + pz**2)
    return pt, eta, phi, np.sqrt(np.maximum(m2, 0.0))


def rapidity(p4: Any) -> np.ndarray:
    r"""Rapidity :math:`y = \tfrac12 \ln\frac{E + p_z}{E - p_z}`.

    Uses :math:`y = \operatorname{asinh}(p_z / m_T)` with
    :math:`m_T^2 = E^2 - p_z^2`, which is stable for massless particles.

    Shapes:
        p4: ``[..., 4]``; output ``[...]``.
    """
    p4 = np.asarray(p4, dtype=np.float64)
    energy, pz = p4[..., 0], p4[..., 3]
    mt = np.sqrt(np.maximum((energy - pz) * (energy + pz), 1e-300))
    y: np.ndarray = np.arcsinh(pz / mt)
    return y


@renamed_arguments(n_max="max_particles")
def to_padded(
    jets: ak.Array, max_particles: int | None = None, dtype: Any = np.float64
) -> tuple[np.ndarray, np.ndarray]:
    """Pads particles into ``p4[N, P, 4]`` ``(E, px, py, pz)`` and ``mask[N, P]``.

    Arguments:
        jets: Particles or jets (see :func:`particles_of`).
        max_particles: Number of particle slots ``P``; the largest multiplicity by
            default (``n_max=`` is a deprecated alias).
            Jets with more particles are refused (never silently truncated).
        dtype: Floating dtype of ``p4``. The 4-momenta are always computed in float64
            from the stored coordinates (whatever their storage dtype) and cast last.

    Examples:
        >>> import hypervae as hv
        >>> parts = hv.physics.from_padded(np.array([[[5.0, 3, 0, 4]]]), np.array([[True]]))
        >>> p4, mask = to_padded(parts, max_particles=3)
        >>> p4.shape, mask.tolist()
        ((1, 3, 4), [[True, False, False]])
    """
    flat_p4, counts = _flat_p4(jets)
    size = int(counts.max(initial=0)) if max_particles is None else int(max_particles)
    if counts.size and counts.max() > size:
        bad = int(np.argmax(counts > size))
        msg = (
            f"jet {bad} has {int(counts[bad])} particles, more than max_particles={size}; "
            "select the leading particles first instead of padding"
        )
        raise ValueError(msg)
    mask = np.arange(size)[None, :] < counts[:, None]
    p4 = np.zeros((counts.size, size, 4), dtype=np.float64)
    p4[mask] = flat_p4
    return p4.astype(dtype, copy=False), mask


def from_padded(p4: Any, mask: Any) -> ak.Array:
    """Inverse of :func:`to_padded`: Momentum4D particle lists ``(pt, eta, phi, mass)``.

    Shapes:
        p4: ``[N, P, 4]`` ``(E, px, py, pz)``; mask: ``[N, P]``.
    """
    p4 = np.asarray(p4, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    pt, eta, phi, mass = cartesian_to_ptetaphim(p4[mask])
    return _zip_particles(pt, eta, phi, mass, mask.sum(axis=1))


def _zip_particles(pt: Any, eta: Any, phi: Any, mass: Any, counts: Any) -> ak.Array:
    flat = ak.zip(
        {"pt": pt, "eta": eta, "phi": phi, "mass": mass},
        with_name="Momentum4D",
    )
    return ak.unflatten(flat, np.asarray(counts, dtype=np.int64))


def _as_float64(particles: ak.Array) -> ak.Array:
    """The particles with every stored number cast to float64 (vector behaviour kept).

    Derived coordinates (``E``, ``px``...) are then computed by ``vector`` in float64
    from the stored ones, whatever their storage dtype: computing them in float32 and
    casting afterwards loses the invariant mass of nearly collinear pairs.
    """
    return ak.values_astype(particles, np.float64)


def _flat_p4(jets: ak.Array) -> tuple[np.ndarray, np.ndarray]:
    particles = particles_of(jets)
    counts = ak.to_numpy(ak.num(particles, axis=1))
    flat = _as_float64(ak.flatten(particles, axis=1))
    p4 = np.stack(
        [ak.to_numpy(getattr(flat, f)).astype(np.float64) for f in ("E", "px", "py", "pz")],
        axis=-1,
    )
    return p4, counts


def _segment_sum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    jet = np.repeat(np.arange(counts.size), counts)
    out = np.zeros((counts.size, *values.shape[1:]))
    np.add.at(out, jet, values)
    return out


def jet_p4(jets: ak.Array) -> np.ndarray:
    """Jet 4-momenta ``[N, 4]`` ``(E, px, py, pz)``: the sum of the constituents.

    Examples:
        >>> parts = from_padded(np.array([[[5.0, 3, 0, 4], [5.0, -3, 0, 4]]]), np.ones((1, 2), bool))
        >>> jet_p4(parts).round(12).tolist()
        [[10.0, 0.0, 0.0, 8.0]]
    """
    p4, counts = _flat_p4(jets)
    return _segment_sum(p4, counts)


def to_relative(jets: ak.Array) -> ak.Array:
    r"""Relative coordinates of the JetNet convention.

    ``eta_rel = eta - eta_jet``, ``phi_rel = wrap(phi - phi_jet)`` in :math:`(-\pi, \pi]`
    and ``pt_rel = pt / pt_jet``, with the jet the sum of the given constituents unless
    ``jets`` carries jet-level ``pt``, ``eta`` and ``phi`` fields (then those are used, as
    in JetNet, where the jet includes constituents beyond the stored ones).

    Returns:
        ``N * var * {eta_rel, phi_rel, pt_rel}``.
    """
    particles = _as_float64(particles_of(jets))
    jet_pt, jet_eta, jet_phi = _jet_ptetaphi(jets)
    return ak.zip(
        {
            "eta_rel": particles.eta - jet_eta,
            "phi_rel": wrap_phi(particles.phi - jet_phi),
            "pt_rel": particles.pt / jet_pt,
        }
    )


def _jet_ptetaphi(jets: ak.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    fields = ak.fields(jets)
    if {"particles", "pt", "eta", "phi"} <= set(fields):
        return (
            ak.to_numpy(jets["pt"]).astype(np.float64),
            ak.to_numpy(jets["eta"]).astype(np.float64),
            ak.to_numpy(jets["phi"]).astype(np.float64),
        )
    pt, eta, phi, _ = cartesian_to_ptetaphim(jet_p4(jets))
    return pt, eta, phi


def from_relative(
    relative: ak.Array, jet_pt: Any, jet_eta: Any, jet_phi: Any, mass: Any = 0.0
) -> ak.Array:
    """Inverse of :func:`to_relative`: Momentum4D particles in the lab frame.

    Arguments:
        relative: ``N * var * {eta_rel, phi_rel, pt_rel}``.
        jet_pt: Jet transverse momenta ``[N]``.
        jet_eta: Jet pseudorapidities ``[N]``.
        jet_phi: Jet azimuths ``[N]``.
        mass: Particle mass (scalar or jagged like ``relative``); JetNet particles are
            massless.
    """
    jet_pt, jet_eta, jet_phi = (np.asarray(a, dtype=np.float64) for a in (jet_pt, jet_eta, jet_phi))
    mass_field = relative.pt_rel * 0.0 + mass
    return ak.zip(
        {
            "pt": relative.pt_rel * jet_pt,
            "eta": relative.eta_rel + jet_eta,
            "phi": wrap_phi(relative.phi_rel + jet_phi),
            "mass": mass_field,
        },
        with_name="Momentum4D",
    )


@dataclass(frozen=True)
class JetFrame:
    """Per-jet parameters of the canonical frame (all arrays ``[N]``).

    Attributes:
        rapidity: Jet rapidity removed by the longitudinal boost.
        phi: Jet azimuth removed by the rotation.
        scale: Positive number dividing all four components.
    """

    rapidity: np.ndarray
    phi: np.ndarray
    scale: np.ndarray


def _boost_rotate(p4: np.ndarray, y: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Boost along z by rapidity ``y`` after a rotation about z by ``phi`` (both [N])."""
    y = y[:, None]
    c, s = np.cos(phi)[:, None], np.sin(phi)[:, None]
    energy, px, py, pz = np.moveaxis(p4, -1, 0)
    px, py = c * px - s * py, s * px + c * py
    ch, sh = np.cosh(y), np.sinh(y)
    energy, pz = ch * energy + sh * pz, sh * energy + ch * pz
    return np.stack([energy, px, py, pz], axis=-1)


def to_jet_frame(p4: Any, mask: Any, scale: str | float = "pt") -> tuple[np.ndarray, JetFrame]:
    r"""Moves padded particles to the canonical jet frame.

    A boost along the beam axis to jet rapidity 0 and a rotation about it to jet
    azimuth 0 (together a proper orthochronous Lorentz transformation), then a
    division by one scale per jet: the jet :math:`p_T` (``"pt"``, invariant under
    both), the jet energy in the new frame (``"energy"``) or a constant (a float).

    Shapes:
        p4: ``[N, P, 4]`` ``(E, px, py, pz)``; mask: ``[N, P]``.
        output: ``[N, P, 4]`` (padded slots are zero) and a :class:`JetFrame`.

    Examples:
        >>> p4 = ptetaphim_to_cartesian([[100.0, 50.0]], [[1.0, 1.2]], [[0.5, 0.4]])
        >>> frame_p4, frame = to_jet_frame(p4, np.ones((1, 2), bool))
        >>> bool(abs(frame_p4[..., 3].sum()) < 1e-12), bool(abs(frame_p4[..., 2].sum()) < 1e-12)
        (True, True)
    """
    p4 = np.asarray(p4, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    p4 = np.where(mask[..., None], p4, 0.0)
    jet = p4.sum(axis=1)
    y = rapidity(jet)
    phi = np.arctan2(jet[:, 2], jet[:, 1])
    moved = _boost_rotate(p4, -y, np.zeros_like(phi))
    moved = _boost_rotate(moved, np.zeros_like(y), -phi)
    if isinstance(scale, str):
        if scale == "pt":
            s = np.hypot(jet[:, 1], jet[:, 2])
        elif scale == "energy":
            s = moved.sum(axis=1)[:, 0]
        else:
            msg = f"scale must be 'pt', 'energy' or a positive number, got {scale!r}"
            raise ValueError(msg)
    else:
        s = np.full(p4.shape[0], float(scale))
    if np.any(~(s > 0)):
        bad = int(np.argmax(~(s > 0)))
        msg = f"jet {bad}: the frame scale must be positive, got {s[bad]} (an empty jet?)"
        raise ValueError(msg)
    moved = np.where(mask[..., None], moved / s[:, None, None], 0.0)
    return moved, JetFrame(rapidity=y, phi=phi, scale=s)


def from_jet_frame(p4: Any, mask: Any, frame: JetFrame) -> np.ndarray:
    """Exact inverse of :func:`to_jet_frame`.

    Shapes:
        p4: ``[N, P, 4]``; mask: ``[N, P]``; output ``[N, P, 4]`` in the lab frame.
    """
    p4 = np.asarray(p4, dtype=np.float64) * np.asarray(frame.scale)[:, None, None]
    mask = np.asarray(mask, dtype=bool)
    zeros = np.zeros_like(frame.phi)
    out = _boost_rotate(p4, zeros, frame.phi)
    out = _boost_rotate(out, frame.rapidity, zeros)
    return np.where(mask[..., None], out, 0.0)

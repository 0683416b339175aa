r"""Pairwise particle features with the Particle Transformer conventions.

For particles :math:`a, b` with rapidity :math:`y`, azimuth :math:`\phi` and transverse
momentum :math:`p_T`:

.. math::

    \Delta = \sqrt{(y_a - y_b)^2 + (\phi_a - \phi_b)^2}, \quad
    k_T = \min(p_{T,a}, p_{T,b})\,\Delta, \quad
    z = \frac{\min(p_{T,a}, p_{T,b})}{p_{T,a} + p_{T,b}}, \quad
    m^2 = (p_a + p_b)^2,

with the azimuthal difference wrapped to :math:`(-\pi, \pi]`. The features are
``(ln Δ, ln kT, ln z, ln m²)``, each argument clamped below at ``eps = 1e-8`` before the
logarithm (so the diagonal and collinear pairs stay finite). The 2-point energy weight
is :math:`w_a w_b` with :math:`w = p_T / \sum p_T`. All five are invariant under
longitudinal boosts and rotations about the beam axis.

Two paths compute the same numbers: numpy on padded arrays (:func:`pairwise_features`,
also behind the awkward :func:`pairwise`), and torch (:func:`pairwise_features_torch`)
for use inside models. The numpy paths work in float64 from the stored coordinates
(see :func:`~hypervae.physics.to_padded`); the torch path in the dtype it is given.
Non-finite input in a real particle raises a ``ValueError`` naming the jet, the
particle and the field; the content of padded slots is never read (it reaches neither
the values nor the gradients).

References:
    | Particle Transformer for Jet Tagging (Qu, Li, Qian, 2022)
    | https://arxiv.org/abs/2202.03772
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import awkward as ak
import numpy as np

from .kinematics import particles_of, to_padded

if TYPE_CHECKING:
    import torch

__all__ = ["EPS", "FEATURES", "pairwise", "pairwise_features", "pairwise_features_torch"]

EPS = 1e-8
FEATURES = ("ln_dr", "ln_kt", "ln_z", "ln_m2")
_COMPONENTS = ("E", "px", "py", "pz")


def _safe_sqrt(value: Any, xp: Any) -> Any:
    """Square root whose gradient at 0 is 0 rather than NaN (diagonal and padding)."""
    positive = value > 0
    return xp.where(positive, xp.sqrt(xp.where(positive, value, xp.ones_like(value))), 0 * value)


def _features(p4: Any, mask: Any, xp: Any) -> tuple[Any, Any]:
    """Shared formula for numpy (``xp = np``) and torch (``xp = torch``)."""
    is_torch = xp.__name__ == "torch"

    def clamp(v: Any) -> Any:
        return xp.clamp(v, min=EPS) if is_torch else xp.maximum(v, EPS)

    atan2 = xp.atan2 if is_torch else xp.arctan2
    p4 = xp.where(mask[..., None], p4, xp.zeros_like(p4))  # padding never read
    energy, px, py, pz = (p4[..., k] for k in range(4))
    pt = _safe_sqrt(px**2 + py**2, xp)
    mt2 = clamp((energy - pz) * (energy + pz))
    y = 0.5 * xp.log(clamp(energy + pz) ** 2 / mt2)
    phi = atan2(py, px)
    dy = y[..., :, None] - y[..., None, :]
    dphi = phi[..., :, None] - phi[..., None, :]
    dphi = xp.remainder(dphi + np.pi, 2 * np.pi) - np.pi
    delta = _safe_sqrt(dy**2 + dphi**2, xp)
    pt_a, pt_b = pt[..., :, None], pt[..., None, :]
    ptmin = xp.minimum(pt_a, pt_b)
    e_sum = energy[..., :, None] + energy[..., None, :]
    p_sum2 = sum((c[..., :, None] + c[..., None, :]) ** 2 for c in (px, py, pz))
    feats = [
        xp.log(clamp(delta)),
        xp.log(clamp(ptmin * delta)),
        xp.log(clamp(ptmin / clamp(pt_a + pt_b))),
        xp.log(clamp(e_sum**2 - p_sum2)),
    ]
    out = xp.stack(feats, -1)
    pair = mask[..., :, None] & mask[..., None, :]
    out = xp.where(pair[..., None], out, xp.zeros_like(out))
    pt = xp.where(mask, pt, xp.zeros_like(pt))
    total = pt.sum(-1, keepdim=True) if is_torch else pt.sum(-1, keepdims=True)
    w = pt / xp.where(total > 0, total, xp.ones_like(total))
    return out, w[..., :, None] * w[..., None, :]


def pairwise_features(p4: Any, mask: Any | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise features of padded particles (numpy).

    Arguments:
        p4: ``(E, px, py, pz)`` of shape ``[N, P, 4]``.
        mask: ``[N, P]`` booleans for real particles (all real by default).

    Returns:
        ``features[N, P, P, 4]`` ordered as :data:`FEATURES` (zero where either particle
        is padding) and the energy weights ``w2[N, P, P]``.

    Raises:
        ValueError: A real particle has a NaN or infinite component (the message names
            the jet, the particle and the component).

    Examples:
        >>> p4 = np.array([[[10.0, 10, 0, 0], [10.0, 0, 10, 0]]])
        >>> feats, w2 = pairwise_features(p4)
        >>> round(float(np.exp(feats[0, 0, 1, 0])), 6), float(w2[0, 0, 1])
        (1.570796, 0.25)
    """
    p4 = np.asarray(p4, dtype=np.float64)
    mask = np.ones(p4.shape[:-1], dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    bad = ~np.isfinite(p4) & mask[..., None]
    if np.any(bad):
        _raise_non_finite("pairwise_features", np.argwhere(bad)[0], p4)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _features(p4, mask, np)


def pairwise_features_torch(
    p4: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pairwise features of padded particles (torch, differentiable, any device).

    Same conventions, outputs and errors as :func:`pairwise_features`; differentiable
    for finite input, and padded slots get zero gradient whatever they hold.

    Shapes:
        p4: ``[B, P, 4]``; mask: ``[B, P]``; outputs ``[B, P, P, 4]`` and ``[B, P, P]``.
    """
    import torch

    if mask is None:
        mask = torch.ones(p4.shape[:-1], dtype=torch.bool, device=p4.device)
    mask = mask.bool()
    bad = ~torch.isfinite(p4.detach()) & mask[..., None]
    if bool(bad.any()):
        where = torch.nonzero(bad)[0].cpu().numpy()
        _raise_non_finite("pairwise_features_torch", where, p4.detach().cpu().numpy())
    return _features(p4, mask, torch)


def _raise_non_finite(caller: str, where: Any, p4: Any) -> None:
    """Raises the ``ValueError`` for the non-finite ``p4[jet, particle, component]``."""
    index = tuple(int(v) for v in where)
    *lead, particle, k = index
    jet = f"jet {', '.join(str(v) for v in lead)}, " if lead else ""
    msg = (
        f"{caller}: {jet}particle {particle}: field {_COMPONENTS[k]!r} of p4 is "
        f"{p4[index]}; expected finite (E, px, py, pz) in every real particle"
    )
    raise ValueError(msg)


def _check_finite_particles(jets: ak.Array, caller: str) -> None:
    """Raises a ``ValueError`` naming the jet, particle and field of a non-finite value."""
    particles = particles_of(jets)
    flat = ak.flatten(particles, axis=1)
    starts = np.concatenate([[0], np.cumsum(ak.to_numpy(ak.num(particles, axis=1)))])
    for field in ak.fields(flat):
        try:
            values = np.asarray(ak.to_numpy(flat[field]))
        except (TypeError, ValueError):  # nested or non-numeric: not a coordinate
            continue
        if values.ndim != 1 or not np.issubdtype(values.dtype, np.number):
            continue
        bad = ~np.isfinite(values)
        if np.any(bad):
            k = int(np.argmax(bad))
            jet = int(np.searchsorted(starts, k, side="right")) - 1
            msg = (
                f"{caller}: jet {jet}, particle {k - int(starts[jet])}: field {field!r} is "
                f"{values[k]}; expected finite numbers"
            )
            raise ValueError(msg)


def pairwise(jets: ak.Array, chunk_size: int = 512) -> ak.Array:
    """Pairwise features of every unordered pair ``i < j`` in every jet (awkward).

    Jets are processed ``chunk_size`` at a time, so memory stays bounded for large
    datasets (the dense ``[N, P, P, 4]`` array is never built for all jets at once).

    Returns:
        ``N * var * {i, j, w2, ln_dr, ln_kt, ln_z, ln_m2}`` with ``n (n - 1) / 2`` pairs
        per jet of ``n`` particles, computed in float64 whatever the storage dtype.

    Raises:
        ValueError: A stored particle field is NaN or infinite (the message names the
            jet, the particle and the field).

    Examples:
        >>> import hypervae as hv
        >>> jets = hv.datasets.load_sample("q", split="test")[:3]
        >>> pairs = pairwise(jets)
        >>> ak.num(pairs).tolist() == [n * (n - 1) // 2 for n in ak.num(jets.particles).tolist()]
        True
    """
    _check_finite_particles(jets, "pairwise")
    p4_all, mask_all = to_padded(jets)
    size = p4_all.shape[1]
    i, j = np.triu_indices(size, k=1)
    records: dict[str, list[np.ndarray]] = {name: [] for name in ("i", "j", "w2", *FEATURES)}
    counts = []
    for lo in range(0, len(p4_all), chunk_size):
        p4, mask = p4_all[lo : lo + chunk_size], mask_all[lo : lo + chunk_size]
        feats, w2 = pairwise_features(p4, mask)
        keep = mask[:, i] & mask[:, j]
        counts.append(keep.sum(axis=1))
        records["i"].append(np.broadcast_to(i, keep.shape)[keep])
        records["j"].append(np.broadcast_to(j, keep.shape)[keep])
        records["w2"].append(w2[:, i, j][keep])
        for k, name in enumerate(FEATURES):
            records[name].append(feats[:, i, j, k][keep])
    if not counts:
        counts = [np.zeros(0, dtype=np.int64)]
    flat = {
        name: np.concatenate(parts) if parts else np.zeros(0) for name, parts in records.items()
    }
    return ak.unflatten(ak.zip(flat), np.concatenate(counts))

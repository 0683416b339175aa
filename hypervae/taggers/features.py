r"""Per-particle input features of the taggers, standardised as in the published ParT setup.

From padded 4-momenta ``(E, px, py, pz)`` and a padding mask, every real particle gets

==============  ==================================================  =============
feature         definition                                          (shift, scale)
==============  ==================================================  =============
``ln_pt``       :math:`\ln p_T`                                     (1.7, 0.7)
``ln_e``        :math:`\ln E`                                       (2.0, 0.7)
``ln_pt_rel``   :math:`\ln(p_T / p_{T,\mathrm{jet}})`               (-4.7, 0.7)
``ln_e_rel``    :math:`\ln(E / E_\mathrm{jet})`                     (-4.7, 0.7)
``dr``          :math:`\sqrt{\Delta\eta^2 + \Delta\phi^2}`          (0.2, 4.0)
``deta``        :math:`\eta - \eta_\mathrm{jet}`                    (0, 1)
``dphi``        :math:`\phi - \phi_\mathrm{jet}` wrapped to ±π      (0, 1)
``eta``         :math:`\eta`                                        (0, 1)
``phi``         :math:`\phi`                                        (0, 1)
==============  ==================================================  =============

standardised as ``clamp((x - shift) * scale, -5, 5)``; the jet is the sum of the real
particles. The constants are those of the Particle Transformer JetClass data
configuration (``part_pt_log``, ``part_e_log``, ``part_logptrel``, ``part_logerel``,
``part_deltaR``; ``part_deta``/``part_dphi`` unscaled) with the ±5 clip that its
``manual`` standardisation applies; momenta are in GeV. Optional extra per-particle
features (track impact parameters, charge, PID flags) are appended unchanged.
Padded particles get all-zero features, whatever their 4-momenta hold.

References:
    | Particle Transformer for Jet Tagging (Qu, Li, Qian, 2022)
    | https://arxiv.org/abs/2202.03772 (data config ``data/JetClass/JetClass_kin.yaml``)
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "FEATURE_NAMES",
    "HLS4ML_FEATURE_NAMES",
    "HLS4ML_STANDARDISATION",
    "STANDARDISATION",
    "check_inputs",
    "check_jet_type",
    "hls4ml_features",
    "kinematics",
    "param_dtype",
    "particle_features",
    "prepare_inputs",
    "standardise_hls4ml",
    "tagger_inputs",
    "tagger_output",
]

FEATURE_NAMES = ("ln_pt", "ln_e", "ln_pt_rel", "ln_e_rel", "dr", "deta", "dphi", "eta", "phi")

#: ``name -> (shift, scale)`` of the published ParT JetClass configuration.
STANDARDISATION: dict[str, tuple[float, float]] = {
    "ln_pt": (1.7, 0.7),
    "ln_e": (2.0, 0.7),
    "ln_pt_rel": (-4.7, 0.7),
    "ln_e_rel": (-4.7, 0.7),
    "dr": (0.2, 4.0),
    "deta": (0.0, 1.0),
    "dphi": (0.0, 1.0),
    "eta": (0.0, 1.0),
    "phi": (0.0, 1.0),
}

_EPS = 1e-8
_CLIP = 5.0


def check_inputs(p4: Tensor, mask: Tensor, extra: Tensor | None = None) -> None:
    """Validates tagger inputs; the error names the field and the first bad jet.

    Raises:
        ValueError: On wrong shapes, jets without a real particle, or non-finite
            4-momenta of real particles.
    """
    if p4.ndim != 3 or p4.shape[-1] != 4:
        msg = f"p4: expected shape [B, P, 4] (E, px, py, pz), got {list(p4.shape)}"
        raise ValueError(msg)
    if tuple(mask.shape) != tuple(p4.shape[:2]):
        msg = f"mask: expected shape {list(p4.shape[:2])} matching p4, got {list(mask.shape)}"
        raise ValueError(msg)
    if extra is not None and (extra.ndim != 3 or tuple(extra.shape[:2]) != tuple(p4.shape[:2])):
        msg = f"extra: expected shape [{p4.shape[0]}, {p4.shape[1]}, K], got {list(extra.shape)}"
        raise ValueError(msg)
    mask = mask.bool()
    empty = ~mask.any(dim=1)
    if bool(empty.any()):
        jet = int(torch.nonzero(empty)[0, 0])
        msg = f"mask: jet {jet} has no real particle; every jet needs at least one"
        raise ValueError(msg)
    bad = (~torch.isfinite(p4).all(-1) & mask).any(dim=1)
    if bool(bad.any()):
        jet = int(torch.nonzero(bad)[0, 0])
        msg = f"p4: jet {jet} has a non-finite 4-momentum in a real (unmasked) particle"
        raise ValueError(msg)
    if extra is not None:
        bad = (~torch.isfinite(extra).all(-1) & mask).any(dim=1)
        if bool(bad.any()):
            jet = int(torch.nonzero(bad)[0, 0])
            msg = f"extra: jet {jet} has a non-finite feature in a real (unmasked) particle"
            raise ValueError(msg)


def kinematics(p4: Tensor, mask: Tensor) -> dict[str, Tensor]:
    r"""Unstandardised kinematics of real particles relative to the jet (sum of particles).

    Padded entries are zero. Values are computed in the dtype of ``p4``.

    Shapes:
        p4: ``[B, P, 4]``; mask: ``[B, P]``; each output ``[B, P]``.

    Returns:
        ``pt, energy, eta, phi, deta, dphi, dr, pt_jet, e_jet`` (the jet ones ``[B, 1]``).

    Examples:
        >>> p4 = torch.tensor([[[5.0, 3.0, 0.0, 4.0], [0.0, 0.0, 0.0, 0.0]]])
        >>> k = kinematics(p4, torch.tensor([[True, False]]))
        >>> round(float(k["pt"][0, 0]), 4), round(float(k["eta"][0, 0]), 4)
        (3.0, 1.0986)
    """
    mask = mask.bool()
    p4 = torch.where(mask[..., None], p4, torch.zeros_like(p4))
    energy, px, py, pz = p4.unbind(-1)
    pt = torch.sqrt(torch.clamp(px**2 + py**2, min=_EPS**2))
    eta = torch.asinh(pz / pt)
    phi = torch.atan2(py, px)
    jet = p4.sum(dim=1, keepdim=True)
    pt_jet = torch.sqrt(torch.clamp(jet[..., 1] ** 2 + jet[..., 2] ** 2, min=_EPS**2))
    eta_jet = torch.asinh(jet[..., 3] / pt_jet)
    phi_jet = torch.atan2(jet[..., 2], jet[..., 1])
    deta = eta - eta_jet
    dphi = torch.remainder(phi - phi_jet + math.pi, 2 * math.pi) - math.pi
    dr = torch.sqrt(torch.clamp(deta**2 + dphi**2, min=_EPS**2))
    out = {"pt": pt, "energy": energy, "eta": eta, "phi": phi, "deta": deta, "dphi": dphi}
    out["dr"] = dr
    out = {k: torch.where(mask, v, torch.zeros_like(v)) for k, v in out.items()}
    out["pt_jet"] = pt_jet
    out["e_jet"] = jet[..., 0]
    return out


def particle_features(
    p4: Tensor,
    mask: Tensor,
    extra: Tensor | None = None,
    absolute_eta_phi: bool = True,
) -> Tensor:
    """Standardised per-particle features (see the module table), plus ``extra``.

    Arguments:
        p4: Padded ``(E, px, py, pz)`` in GeV.
        mask: ``True`` for real particles.
        extra: Optional per-particle features appended as they are (zeroed on padding).
        absolute_eta_phi: Include the lab-frame ``eta`` and ``phi`` (the last two
            features); without them the features are invariant under rotations about the
            beam axis.

    Shapes:
        p4: ``[B, P, 4]``; mask: ``[B, P]``; extra: ``[B, P, K]``;
        output ``[B, P, 9 + K]`` (``7 + K`` without ``eta, phi``), float32 unless ``p4``
        is float64.

    Examples:
        >>> p4 = torch.tensor([[[5.0, 3.0, 0.0, 4.0], [2.0, 0.0, 2.0, 0.0]]])
        >>> x = particle_features(p4, torch.tensor([[True, False]]))
        >>> x.shape, bool((x[0, 1] == 0).all())
        (torch.Size([1, 2, 9]), True)
        >>> round(float(x[0, 0, 0]), 4)  # (ln 3 - 1.7) * 0.7
        -0.421
    """
    mask = mask.bool()
    k = kinematics(p4, mask)
    raw = {
        "ln_pt": torch.log(torch.clamp(k["pt"], min=_EPS)),
        "ln_e": torch.log(torch.clamp(k["energy"], min=_EPS)),
        "ln_pt_rel": torch.log(torch.clamp(k["pt"] / k["pt_jet"], min=_EPS)),
        "ln_e_rel": torch.log(torch.clamp(k["energy"] / torch.clamp(k["e_jet"], min=_EPS), _EPS)),
        "dr": k["dr"],
        "deta": k["deta"],
        "dphi": k["dphi"],
        "eta": k["eta"],
        "phi": k["phi"],
    }
    names = FEATURE_NAMES if absolute_eta_phi else FEATURE_NAMES[:7]
    cols = []
    for name in names:
        shift, scale = STANDARDISATION[name]
        cols.append(torch.clamp((raw[name] - shift) * scale, -_CLIP, _CLIP))
    x = torch.stack(cols, dim=-1)
    if extra is not None:
        x = torch.cat([x, extra.to(x.dtype)], dim=-1)
    if x.dtype not in (torch.float32, torch.float64):
        x = x.float()
    return torch.where(mask[..., None], x, torch.zeros_like(x))


#: The 16 per-particle features of the hls4ml 150-particle jet data, in the files' order.
HLS4ML_FEATURE_NAMES = (
    "px", "py", "pz", "e", "erel", "pt", "ptrel", "eta", "etarel", "etarot",
    "phi", "phirel", "phirot", "deltaR", "costheta", "costhetarel",
)  # fmt: skip

#: ``name -> (kind, shift, scale)``: ``x`` (linear), ``log`` (of the value),
#: ``slog`` (``sign(x) ln(1 + |x|)``) or ``log1m`` (``ln(1 - x)``), then
#: ``clamp((f(x) - shift) * scale, -5, 5)``; momenta in GeV.
HLS4ML_STANDARDISATION: dict[str, tuple[str, float, float]] = {
    "px": ("slog", 0.0, 0.5),
    "py": ("slog", 0.0, 0.5),
    "pz": ("slog", 0.0, 0.5),
    "e": ("log", 2.0, 0.7),
    "erel": ("log", -4.7, 0.7),
    "pt": ("log", 1.7, 0.7),
    "ptrel": ("log", -4.7, 0.7),
    "eta": ("x", 0.0, 1.0),
    "etarel": ("x", 0.0, 2.5),
    "etarot": ("x", 0.0, 2.5),
    "phi": ("x", 0.0, 1.0),
    "phirel": ("x", 0.0, 2.5),
    "phirot": ("x", 0.0, 2.5),
    "deltaR": ("x", 0.2, 4.0),
    "costheta": ("x", 0.0, 1.0),
    "costhetarel": ("log1m", -5.0, 0.4),
}


def hls4ml_features(p4: Tensor, mask: Tensor) -> Tensor:
    r"""The 16 per-particle features of the hls4ml 150-particle data set, from 4-momenta.

    Computed in float64 (whatever the dtype of ``p4``); the jet is the sum of the real
    particles (the files use the clustered jet; with 150 leading particles they agree to
    the momentum of the dropped soft ones). In the order of :data:`HLS4ML_FEATURE_NAMES`:

    ================  ================================================================
    ``px, py, pz, e``  the 4-momentum in GeV
    ``erel``           :math:`E / E_\mathrm{jet}`
    ``pt``             :math:`p_T = \sqrt{p_x^2 + p_y^2}`
    ``ptrel``          :math:`p_T / p_{T,\mathrm{jet}}`
    ``eta``            pseudorapidity :math:`\eta = \operatorname{asinh}(p_z / p_T)`
    ``etarel``         :math:`\eta - \eta_\mathrm{jet}`
    ``etarot``         :math:`\eta` after the rotation taking the jet axis to
                       :math:`(\eta, \phi) = (0, 0)` (about :math:`z` by
                       :math:`-\phi_\mathrm{jet}`, then about :math:`y` by the jet's
                       polar angle from the transverse plane)
    ``phi``            azimuth :math:`\phi = \operatorname{atan2}(p_y, p_x)`
    ``phirel``         :math:`\phi - \phi_\mathrm{jet}` wrapped to :math:`(-\pi, \pi]`
    ``phirot``         :math:`\phi` after the same rotation
    ``deltaR``         :math:`\sqrt{\eta_\mathrm{rel}^2 + \phi_\mathrm{rel}^2}`
    ``costheta``       :math:`p_z / |\vec p|`
    ``costhetarel``    cosine of the angle between the particle and the jet momentum
    ================  ================================================================

    ``pt, ptrel, phirel`` are invariant under boosts along the beam and rotations about
    it (``etarel, deltaR`` use pseudorapidity, as the files do, so they are boost
    invariant only for massless particles and jets); ``etarel, etarot, phirot, deltaR,
    erel`` are invariant under rotations about the beam; ``e, erel, costhetarel`` under
    all rotations (tested). Padded particles get zeros.

    Shapes:
        p4: ``[B, P, 4]`` ``(E, px, py, pz)`` in GeV; mask: ``[B, P]``; output
        ``[B, P, 16]`` float64.

    Examples:
        >>> p4 = torch.tensor([[[5.0, 3.0, 0.0, 4.0], [0.0, 0.0, 0.0, 0.0]]])
        >>> x = hls4ml_features(p4, torch.tensor([[True, False]]))
        >>> x.shape, [round(v, 6) for v in x[0, 0, [4, 6, 8, 9, 12, 13]].tolist()]
        (torch.Size([1, 2, 16]), [1.0, 1.0, 0.0, 0.0, 0.0, 0.0])
        >>> x[0, 1].abs().sum().item()  # padding
        0.0
    """
    mask = mask.bool()
    p4 = torch.where(mask[..., None], p4.double(), torch.zeros((), dtype=torch.float64))
    energy, px, py, pz = p4.unbind(-1)
    k = kinematics(p4, mask)
    jet = p4.sum(dim=1, keepdim=True)
    jet_p = torch.sqrt(torch.clamp((jet[..., 1:] ** 2).sum(-1), min=_EPS**2))
    p = torch.sqrt(torch.clamp(px**2 + py**2 + pz**2, min=_EPS**2))
    # rotation taking the jet axis to (eta, phi) = (0, 0): about z, then about y
    phi_j = torch.atan2(jet[..., 2], jet[..., 1])
    alpha = torch.atan2(jet[..., 3], k["pt_jet"])
    x1 = px * torch.cos(phi_j) + py * torch.sin(phi_j)
    y1 = -px * torch.sin(phi_j) + py * torch.cos(phi_j)
    x2 = x1 * torch.cos(alpha) + pz * torch.sin(alpha)
    z2 = -x1 * torch.sin(alpha) + pz * torch.cos(alpha)
    pt_rot = torch.sqrt(torch.clamp(x2**2 + y1**2, min=_EPS**2))
    cos_rel = (px * jet[..., 1] + py * jet[..., 2] + pz * jet[..., 3]) / (p * jet_p)
    cols = {
        "px": px,
        "py": py,
        "pz": pz,
        "e": energy,
        "erel": energy / torch.clamp(k["e_jet"], min=_EPS),
        "pt": k["pt"],
        "ptrel": k["pt"] / k["pt_jet"],
        "eta": k["eta"],
        "etarel": k["deta"],
        "etarot": torch.asinh(z2 / pt_rot),
        "phi": k["phi"],
        "phirel": k["dphi"],
        "phirot": torch.atan2(y1, x2),
        "deltaR": k["dr"],
        "costheta": pz / p,
        "costhetarel": torch.clamp(cos_rel, -1.0, 1.0),
    }
    x = torch.stack([cols[name] for name in HLS4ML_FEATURE_NAMES], dim=-1)
    return torch.where(mask[..., None], x, torch.zeros_like(x))


def standardise_hls4ml(raw: Tensor) -> Tensor:
    """Applies :data:`HLS4ML_STANDARDISATION` to the last axis (16 features).

    Shapes:
        raw: ``[..., 16]``; output ``[..., 16]`` in ``[-5, 5]``, same dtype.
    """
    if raw.shape[-1] != len(HLS4ML_FEATURE_NAMES):
        msg = f"raw: expected {len(HLS4ML_FEATURE_NAMES)} features, got {raw.shape[-1]}"
        raise ValueError(msg)
    cols = []
    for i, name in enumerate(HLS4ML_FEATURE_NAMES):
        kind, shift, scale = HLS4ML_STANDARDISATION[name]
        v = raw[..., i]
        if kind == "log":
            v = torch.log(torch.clamp(v, min=_EPS))
        elif kind == "slog":
            v = torch.sign(v) * torch.log1p(v.abs())
        elif kind == "log1m":
            v = torch.log(torch.clamp(1.0 - v, min=_EPS))
        cols.append(torch.clamp((v - shift) * scale, -_CLIP, _CLIP))
    return torch.stack(cols, dim=-1)


def check_jet_type(jet_type: Tensor | np.ndarray, num_classes: int, name: str = "jet_type") -> None:
    """Checks class indices: integers in ``[0, num_classes)``; names the first bad jet.

    Arguments:
        jet_type: Class index per jet.
        num_classes: Number of classes.
        name: The argument name used in the error message.

    Raises:
        ValueError: ``jet_type: jet 3 has class 7; expected 0 <= class < 5``.

    Examples:
        >>> check_jet_type(torch.tensor([0, 4, 5]), 5)
        Traceback (most recent call last):
            ...
        ValueError: jet_type: jet 2 has class 5; expected an integer 0 <= class < 5
    """
    values = torch.as_tensor(np.asarray(jet_type) if isinstance(jet_type, np.ndarray) else jet_type)
    if values.ndim != 1:
        msg = f"{name}: expected shape [N], got {list(values.shape)}"
        raise ValueError(msg)
    if values.is_floating_point():
        bad_int = values != torch.round(values)
        if bool(bad_int.any()):
            jet = int(torch.nonzero(bad_int)[0, 0])
            msg = f"{name}: jet {jet} has class {float(values[jet])}; expected an integer"
            raise ValueError(msg)
    bad = (values < 0) | (values >= num_classes)
    if bool(bad.any()):
        jet = int(torch.nonzero(bad)[0, 0])
        msg = (
            f"{name}: jet {jet} has class {values[jet].item()}; "
            f"expected an integer 0 <= class < {num_classes}"
        )
        raise ValueError(msg)


def tagger_inputs(
    p4: Tensor,
    mask: Tensor,
    extra: Tensor | None,
    features: Literal["hls4ml", "part"],
    absolute_eta_phi: bool = True,
) -> Tensor:
    """The standardised per-particle input of a tagger, plus ``extra`` (zero on padding).

    ``features="part"``: :func:`particle_features` (9, or 7 without ``eta, phi``);
    ``"hls4ml"``: the 16 features of :func:`hls4ml_features`, standardised by
    :data:`HLS4ML_STANDARDISATION`.

    Shapes:
        p4: ``[B, P, 4]``; mask: ``[B, P]``; extra: ``[B, P, K]``; output
        ``[B, P, F + K]`` (float64 for float64 ``p4``, else float32).
    """
    if features not in ("hls4ml", "part"):
        msg = f"features: expected 'hls4ml' or 'part', got {features!r}"
        raise ValueError(msg)
    if features == "part":
        return particle_features(p4, mask, extra, absolute_eta_phi)
    dtype = torch.float64 if p4.dtype == torch.float64 else torch.float32
    x = standardise_hls4ml(hls4ml_features(p4, mask)).to(dtype)
    if extra is not None:
        x = torch.cat([x, extra.to(dtype)], dim=-1)
    return torch.where(mask.bool()[..., None], x, torch.zeros_like(x))


def param_dtype(module: torch.nn.Module) -> torch.dtype:
    """The floating dtype of ``module``'s parameters (the taggers compute in it)."""
    return next(p.dtype for p in module.parameters() if p.is_floating_point())


def tagger_output(logits: Tensor) -> Tensor:
    """Logits as float64 for a float64 model, else float32 (also after bf16 autocast)."""
    return logits if logits.dtype == torch.float64 else logits.float()


def prepare_inputs(
    p4: Tensor,
    mask: Tensor,
    extra: Tensor | None,
    num_extra_features: int,
    max_particles: int | None,
) -> tuple[Tensor, Tensor, Tensor]:
    """A tagger's checked inputs: ``p4`` zeroed on padding, the bool mask, the counts.

    Raises:
        ValueError: What :func:`check_inputs` refuses, a wrong number of ``extra``
            features, or a jet with more than ``max_particles`` real particles (named).

    Shapes:
        p4 ``[B, P, 4]``, mask ``[B, P]``, extra ``[B, P, K]`` -> ``[B, P, 4]``,
        ``[B, P]``, ``[B]``.
    """
    check_inputs(p4, mask, extra)
    got = 0 if extra is None else extra.shape[-1]
    if got != num_extra_features:
        msg = f"extra: expected {num_extra_features} features per particle, got {got}"
        raise ValueError(msg)
    mask = mask.bool()
    counts = mask.sum(dim=1)
    if max_particles is not None and bool((counts > max_particles).any()):
        jet = int(torch.nonzero(counts > max_particles)[0, 0])
        msg = (
            f"mask: jet {jet} has {int(counts[jet])} real particles; this model takes at "
            f"most max_particles={max_particles}"
        )
        raise ValueError(msg)
    return torch.where(mask[..., None], p4, torch.zeros_like(p4)), mask, counts

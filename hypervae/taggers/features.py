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

import torch
from torch import Tensor

__all__ = [
    "FEATURE_NAMES",
    "STANDARDISATION",
    "check_inputs",
    "kinematics",
    "particle_features",
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

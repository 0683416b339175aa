r"""The slot particle decoder: one L-GATr pass over ``max_particles`` learned slots.

This is the deterministic particle decoder (``decoder="slots"``). It is one module
object behind a small interface that :class:`~hypervae.model.HyperVAE` and the
objective use, so another particle decoder (e.g. a flow-matching one) can take its place:

* ``forward(condition, jet_vector, basis) -> (p4, exist_logits)``: deterministic
  particles per slot (the training-time output, stored in
  :class:`~hypervae.model.Decoded`);
* ``loss(decoded, target, mask, tau) -> dict`` of named loss terms against the real
  particles in the jet frame;
* ``sample(decoded, multiplicity, noise, steps=None, solver=None) -> (p4, mask)``:
  particles of generated jets in the jet frame, float64, with ``multiplicity`` of them
  kept per jet; ``noise`` holds per-jet standard normal numbers of shape
  ``[B, *noise_shape]`` drawn by the generation from its seed-stable per-jet streams
  (``None`` when ``noise_shape`` is); ``steps``/``solver`` are the ODE settings of a
  decoder that integrates one (a decoder without one refuses them);
* ``noise_shape``: the per-jet noise the decoder needs at sampling (``None``: none);
* ``massless``: whether sampled particles are massless by construction;
* ``particle_masses(uniform, jet_type)``: masses ``[B, P]`` (GeV, by pT rank) to give
  the sampled particles, drawn from per-jet uniform numbers, or ``None`` (keep them).

:class:`ParticleDecoder` states this interface as a typing protocol.

The slots' scalar inputs are the condition plus a learned slot embedding; their vector
inputs are the jet 4-momentum in the canonical frame :math:`J` and the frame's four
basis vectors (without these references an equivariant network could only emit
multiples of :math:`J`). Each slot emits one existence logit and one 4-vector: by
default (``particle_output="frame"``) a massless particle built from three invariant
outputs as coordinates in the frame basis, else the L-GATr's vector output.
"""

from __future__ import annotations

import math
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor, nn

from ..losses import (
    binary_gumbel,
    chamfer_distance,
    consistency_loss,
    eec_distribution_loss,
    existence_loss,
)
from ..nn.lgatr import ParticleLGATr
from .config import HyperVAEConfig
from .outputs import Decoded

__all__ = [
    "ParticleDecoder",
    "SlotDecoder",
    "chamfer_features",
    "check_no_ode",
    "frame_particles",
    "rename_legacy_keys",
]


@runtime_checkable
class ParticleDecoder(Protocol):
    """What :class:`~hypervae.model.HyperVAE` needs from its particle decoder."""

    kind: str
    noise_shape: tuple[int, ...] | None

    @property
    def massless(self) -> bool: ...

    def particle_masses(self, uniform: Tensor, jet_type: Tensor) -> Tensor | None: ...

    def __call__(
        self, condition: Tensor, jet_vector: Tensor, basis: Tensor
    ) -> tuple[Tensor | None, Tensor | None]: ...

    def loss(
        self, decoded: Decoded, target: Tensor, mask: Tensor, tau: float = 1.0
    ) -> dict[str, Tensor]: ...

    def sample(
        self,
        decoded: Decoded,
        multiplicity: Tensor,
        noise: Tensor | None = None,
        *,
        steps: int | None = None,
        solver: str | None = None,
    ) -> tuple[Tensor, Tensor]: ...


class SlotDecoder(nn.Module):
    """Deterministic particles in ``max_particles`` slots with existence logits.

    Arguments:
        config: The model's :class:`~hypervae.model.HyperVAEConfig`.

    Shapes:
        forward: condition ``[B, hidden]``, jet_vector ``[B, 4]``, basis ``[B, 4, 4]`` ->
        p4 ``[B, P, 4]``, exist_logits ``[B, P]``.
    """

    #: The name of this decoder kind.
    kind = "slots"
    #: The slots are deterministic: no per-jet noise at sampling.
    noise_shape: tuple[int, ...] | None = None

    def __init__(self, config: HyperVAEConfig) -> None:
        super().__init__()
        self.config = config
        h, p = config.hidden, config.max_particles
        self.slot_embedding = nn.Parameter(torch.randn(p, h) * 0.1)
        # vector inputs: the jet 4-momentum and the 4 basis vectors of the jet frame
        # scalar outputs: the existence logit, and for "frame" output (log k, u, v)
        frame = config.particle_output == "frame"
        self.lgatr = ParticleLGATr(5, h, 0 if frame else 1, 4 if frame else 1, config.slot_decoder)

    @property
    def massless(self) -> bool:
        """Whether particles are massless by construction (``particle_output="frame"``)."""
        return self.config.particle_output == "frame"

    def particle_masses(self, uniform: Tensor, jet_type: Tensor) -> Tensor | None:
        """None: the slots' particles keep the masses they are decoded with."""
        del uniform, jet_type
        return None

    def forward(
        self, condition: Tensor, jet_vector: Tensor, basis: Tensor
    ) -> tuple[Tensor, Tensor]:
        """Particles per slot and their existence logits (see the class's Shapes)."""
        p = self.config.max_particles
        dtype = condition.dtype
        slots = condition[:, None, :] + self.slot_embedding[None]
        refs = torch.cat([jet_vector[:, None, :].to(dtype), basis.to(dtype)], 1)  # [B, 5, 4]
        vectors = refs[:, None].expand(-1, p, 5, 4)
        mask = torch.ones(condition.shape[0], p, dtype=torch.bool, device=condition.device)
        v, s = self.lgatr(vectors, slots, mask)
        p4 = frame_particles(s[..., 1:4], basis.to(dtype)) if self.massless else v[:, :, 0, :]
        return p4, s[..., 0]

    def loss(
        self, decoded: Decoded, target: Tensor, mask: Tensor, tau: float = 1.0
    ) -> dict[str, Tensor]:
        """The particle terms ``chamfer``, ``eec``, ``consistency`` and ``existence``.

        The first ``n`` slots (``n`` real particles) are compared with the real ones;
        existence is sampled with a straight-through binary Gumbel-softmax at ``tau``
        (this draws from the global torch RNG, as training does).

        Shapes:
            target: real particles in the jet frame ``[B, P, 4]``; mask ``[B, P]``.
        """
        cfg = self.config
        p4, logits = _slots_of(decoded)
        n = mask.sum(1)
        slots = torch.arange(cfg.max_particles, device=target.device)[None, :] < n[:, None]
        relaxed = binary_gumbel(logits, tau)
        space = cfg.chamfer_space
        return {
            "chamfer": chamfer_distance(
                chamfer_features(p4, space),
                chamfer_features(target, space),
                slots,
                mask,
                w_energy=cfg.chamfer_energy_weight if space == "angular" else 1.0,
            ),
            "eec": eec_distribution_loss((p4, slots), (target, mask), n=2),
            "consistency": consistency_loss(
                p4, slots, target, mask, mass_weight=cfg.consistency_mass_weight
            ),
            "existence": existence_loss(logits, relaxed, n),
        }

    def sample(
        self,
        decoded: Decoded,
        multiplicity: Tensor,
        noise: Tensor | None = None,
        *,
        steps: int | None = None,
        solver: str | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Keeps the ``multiplicity`` slots with the largest existence logits.

        Massless particles are rebuilt in float64 as ``E = |p|`` from their momenta, so
        their mass is zero to float64 precision whatever the network's dtype.
        ``noise`` is unused (the slots are deterministic).

        Shapes:
            multiplicity ``[B]`` (1..P) -> p4 ``[B, P, 4]`` float64 on the CPU, mask
            ``[B, P]``.

        Raises:
            ValueError: ``steps`` or ``solver`` given (the slot decoder has no ODE).
        """
        del noise
        check_no_ode(steps, solver)
        p4, logits = _slots_of(decoded)
        order = logits.cpu().argsort(-1, descending=True)
        rank = order.argsort(-1)
        mask = rank < multiplicity.cpu()[:, None]
        p4 = p4.detach().cpu().double()
        if self.massless:
            momentum = p4[..., 1:]
            p4 = torch.cat([momentum.norm(dim=-1, keepdim=True), momentum], -1)
        return p4, mask


def check_no_ode(steps: object, solver: object) -> None:
    """Refuses ODE settings for the slot decoder (nothing is silently ignored).

    Raises:
        ValueError: ``steps`` or ``solver`` is not ``None`` (names it).
    """
    for name, value in (("steps", steps), ("solver", solver)):
        if value is not None:
            msg = (
                f"{name}={value!r}: the slot decoder (decoder='slots') takes no ODE steps or "
                "solver; leave steps and solver out"
            )
            raise ValueError(msg)


def _slots_of(decoded: Decoded) -> tuple[Tensor, Tensor]:
    if decoded.p4 is None or decoded.exist_logits is None:
        msg = "SlotDecoder: the Decoded has no slot particles (decoded by another decoder?)"
        raise ValueError(msg)
    return decoded.p4, decoded.exist_logits


def chamfer_features(p4: Tensor, space: str) -> Tensor:
    """Per-particle coordinates of the Chamfer loss in ``space`` (``"angular"``/``"momentum"``).

    In the jet frame (jet along +x, scale pT) momenta of soft particles at wide angles
    differ from collinear ones by little in ``(E, px, py, pz)``; ``"angular"`` compares
    the energy share and the direction ``(p_y, p_z)/|p|`` instead.

    Shapes:
        p4 ``[..., 4]`` -> ``[..., 3]`` (angular) or ``[..., 4]`` (momentum).
    """
    if space == "momentum":
        return p4
    norm = torch.sqrt((p4[..., 1:] ** 2).sum(-1) + 1e-12)
    return torch.stack([p4[..., 0], p4[..., 2] / norm, p4[..., 3] / norm], -1)


def frame_particles(coords: Tensor, basis: Tensor) -> Tensor:
    r"""Massless 4-momenta from invariant coordinates ``(log k, u, v)`` in the frame basis.

    :math:`p = k\,(e_t + n_x e_x + n_y e_y + n_z e_z)` with :math:`n = (1, u, v)/|(1, u, v)|`:
    energy :math:`k > 0`, :math:`m^2 = 0` exactly, direction near the jet axis
    :math:`e_x` for small :math:`u, v`. The coefficients are Lorentz invariants, so the
    particles transform with the basis. ``log k`` is offset by :math:`-\ln 30` (a
    30-particle jet's mean share) and clamped to :math:`[-16, 3]`.

    Shapes:
        coords ``[B, P, 3]``, basis ``[B, 4, 4]`` (rows ``e_t, e_x, e_y, e_z``) ->
        ``[B, P, 4]``.
    """
    k = (coords[..., 0] - math.log(30.0)).clamp(-16.0, 3.0).exp()
    direction = torch.stack([torch.ones_like(k), coords[..., 1], coords[..., 2]], -1)
    n = direction / direction.norm(dim=-1, keepdim=True)
    coefficients = k[..., None] * torch.cat([torch.ones_like(k)[..., None], n], -1)
    return torch.einsum("bpk,bkd->bpd", coefficients, basis)


#: State-dict names of the slot decoder before it became a module of its own.
_LEGACY_KEYS = (("slot_embedding", "particle_decoder.slot_embedding"),
                ("decoder_lgatr.", "particle_decoder.lgatr."))  # fmt: skip


def rename_legacy_keys(
    _module: nn.Module, state_dict: dict[str, Any], prefix: str, *_args: Any
) -> None:
    """Maps the slot decoder's former state-dict names onto ``particle_decoder.*``."""
    for key in list(state_dict):
        rest = key[len(prefix) :] if key.startswith(prefix) else None
        if rest is None:
            continue
        for old, new in _LEGACY_KEYS:
            if rest == old or (old.endswith(".") and rest.startswith(old)):
                state_dict[prefix + new + rest[len(old) :]] = state_dict.pop(key)
                break

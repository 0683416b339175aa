r"""A stochastic particle decoder: conditional flow matching on the HyperVAE latent.

Given a latent code :math:`z`, a jet type and a multiplicity :math:`n`, the decoder
generates the jet's particles as a sample of
:math:`p(\eta_\mathrm{rel}, \phi_\mathrm{rel}, \ln p_{T,\mathrm{rel}} \mid z, \mathrm{type}, n)`,
coordinates relative to the particle-sum jet axis and :math:`p_T`. It has two parts:

* a **jet-scalar head**: a Gaussian over the standardised :math:`\ln(m/p_T)` of the
  particle-sum jet given :math:`z` and the type, trained by its likelihood on the
  particle sums (not the clustered jet, of which the kept particles are a part);
* a **velocity field** (:class:`~hypervae.nn.SetTransformerVelocityField`) conditioned
  on :math:`z`, the type, :math:`n/n_\mathrm{max}`, that scalar and the flow time,
  trained with :func:`~hypervae.losses.flow_matching_loss` (true scalar given).

Sampling draws the scalar from the head (mapped to the real jets' per-type distribution
when the decoder has a fitted :class:`~hypervae.model.calibration.ScalarCalibration`),
then integrates :math:`\dot x = v(x, t)` from Gaussian noise at :math:`t = 0` to
:math:`t = 1` with a fixed-step solver: ``"euler"`` (one evaluation per step),
``"midpoint"`` or ``"heun"`` (two); with ``project_mass`` it finally scales each jet's
angular spread so that its mass is the drawn one. Each jet's noise comes from its own random stream, seeded from ``seed`` and the
jet's index, so a jet does not depend on the batch it is generated in.

Symmetry: exactly equivariant under permutations of the particles; the coordinates
are relative to the jet axis, so the output is invariant under rotations about the
beam and longitudinal boosts of the jet by construction, and nothing more (no Lorentz
symmetry is claimed).

Example:
    >>> import torch
    >>> dec = FlowDecoder(FlowDecoderConfig(latent_dim=4, max_particles=5, width=16,
    ...                                      layers=1, heads=2))
    >>> z, jet_type = torch.randn(3, 4), torch.tensor([0, 2, 4])
    >>> out = dec.sample(z, jet_type, multiplicity=torch.tensor([5, 2, 1]), seed=0, steps=2)
    >>> out["coords"].shape, out["p4"].dtype, out["mask"].sum(1).tolist()
    (torch.Size([3, 5, 3]), torch.float64, [5, 2, 1])
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor, nn

from .._config import Config, bounded
from ..losses.flow_matching import flow_matching_loss, interpolate
from ..nn.velocity_field import SetTransformerVelocityField
from .calibration import ScalarCalibration
from .coordinates import (
    ranked_log_pt,
    relative_coordinates,
    relative_log_mass,
    scale_to_log_mass,
    to_four_vectors,
)

__all__ = [
    "SOLVERS",
    "FlowDecoder",
    "FlowDecoderConfig",
    "relative_log_mass",
    "to_four_vectors",
]

SOLVERS = ("euler", "midpoint", "heun")
#: Number of jet types (JetNet codes g=0, q=1, t=2, w=3, z=4).
NUM_TYPES = 5
_MASK64 = (1 << 64) - 1


@dataclass(frozen=True)
class FlowDecoderConfig(Config):
    """Hyperparameters of :class:`FlowDecoder`; dicts in, JSON round trip.

    Attributes:
        latent_dim: Size of the latent code.
        max_particles: Particle slots.
        width, layers, heads, mlp_ratio: The velocity field's transformer.
        velocity: ``"transformer"`` (set transformer) or ``"lgatr"`` (L-GATr slim,
            :class:`~hypervae.nn.LGATrVelocityField`).
        steps, solver: Default ODE steps and solver of :meth:`FlowDecoder.sample`.
        scalar_weight: Weight of the jet-scalar head's likelihood in the loss.
        feature_mean, feature_std: Standardisation of ``(eta_rel, phi_rel, ln pt_rel)``.
        scalar_mean, scalar_std: Standardisation of the particle-sum ``ln(m/pT)``.
        calibration_knots: Quantiles per type of the jet scalar's calibration
            (:class:`~hypervae.model.calibration.ScalarCalibration`, fitted after
            training by :func:`~hypervae.model.flow.fit_scalar_calibration`); 0: none.
        project_mass: Scale each sampled jet's angular spread so that its particle-sum
            ``ln(m/pT)`` is exactly the drawn (calibrated) scalar
            (:func:`~hypervae.model.coordinates.scale_to_log_mass`).
        mass_categories: Particle masses of the HyperVAE's flow particle decoder
            (:class:`~hypervae.model.masses.ParticleMasses`, fitted after training by
            :func:`~hypervae.model.flow.fit_particle_masses`); 0: massless particles.
        pt_calibration_knots: Quantiles per jet type and pT rank of the particles'
            ``ln pt_rel`` calibration (a :class:`~hypervae.model.calibration.ScalarCalibration`
            over type x rank groups, fitted after training by
            :func:`~hypervae.model.flow.fit_pt_calibration`); 0: none.
        distilled_steps: 0 for a flow-matching velocity field (any solver and steps);
            ``k >= 1`` for a field distilled for exactly ``k`` Euler steps
            (:func:`~hypervae.model.distillation.distill_flow_decoder`): ``steps`` must be
            ``k`` and ``solver`` ``"euler"``, and sampling refuses other settings.
        distilled_from: For a distilled decoder, the model it was distilled from (a
            shipped model's name or a directory, as given to ``hypervae distill``): the
            model that integrates any steps and solver, named by the refusal. Empty if
            unknown.
        time_power: Training draws the flow time as ``t = 1 - (1 - u) ** p`` with
            ``u`` uniform on (0, 1) and this power ``p``; 1 (default): uniform, above 1:
            more of the times near the data end (measured on the shipped model: 2 made the
            energy correlators worse, docs/model.md).
    """

    latent_dim: int = bounded(16, ge=1)
    max_particles: int = bounded(30, ge=1)
    width: int = bounded(64, ge=2)
    layers: int = bounded(3, ge=1)
    heads: int = bounded(4, ge=1)
    mlp_ratio: int = bounded(2, ge=1)
    velocity: Literal["transformer", "lgatr"] = "transformer"
    steps: int = bounded(20, ge=1)
    solver: Literal["euler", "midpoint", "heun"] = "midpoint"
    scalar_weight: float = bounded(1.0, ge=0.0)
    feature_mean: tuple[float, ...] = (0.0, 0.0, -3.5)
    feature_std: tuple[float, ...] = (0.1, 0.1, 1.3)
    scalar_mean: float = -1.9
    scalar_std: float = bounded(0.5, gt=0.0)
    calibration_knots: int = bounded(0, ge=0)
    project_mass: bool = False
    mass_categories: int = bounded(0, ge=0)
    pt_calibration_knots: int = bounded(0, ge=0)
    distilled_steps: int = bounded(0, ge=0)
    distilled_from: str = ""
    time_power: float = bounded(1.0, gt=0.0)

    def validate(self) -> None:
        if self.distilled_steps and (self.steps, self.solver) != (self.distilled_steps, "euler"):
            raise self.error(
                "distilled_steps",
                f"a decoder distilled for {self.distilled_steps} Euler steps needs "
                f"steps={self.distilled_steps} and solver='euler', got steps={self.steps} "
                f"and solver={self.solver!r}",
            )
        for name in ("calibration_knots", "pt_calibration_knots"):
            if getattr(self, name) == 1:
                raise self.error(name, "must be 0 (none) or at least 2, got 1")
        if self.width % self.heads != 0 or self.width % 2 != 0:
            raise self.error("width", f"must be even and divisible by heads={self.heads}")
        for name in ("feature_mean", "feature_std"):
            if len(getattr(self, name)) != 3:
                raise self.error(name, f"needs 3 values, got {len(getattr(self, name))}")
        if min(self.feature_std) <= 0:
            raise self.error("feature_std", f"must be > 0, got {self.feature_std}")


def _positive_int(name: str, value: object) -> int:
    """``value`` if it is an int >= 1 (not a bool), else a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        msg = f"{name} must be an int >= 1, got {value!r}"
        raise ValueError(msg)
    return value


def _jet_seed(seed: int, index: int) -> int:
    """A 63-bit seed for jet ``index`` of a run seeded ``seed`` (splitmix64 mixing)."""
    x = (seed * 0x9E3779B97F4A7C15 + index + 1) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return (x ^ (x >> 31)) >> 1


class FlowDecoder(nn.Module):
    """Flow-matching particle decoder conditioned on a latent code, a jet type and ``n``.

    Shapes:
        loss: z ``[B, latent_dim]``, jet_type ``[B]``, particles ``[B, P, 3]`` (eta_rel,
        phi_rel, ln pt_rel relative to the particle-sum jet), mask ``[B, P]``.
        sample: z ``[B, latent_dim]``, jet_type ``[B]``, n ``[B]`` -> ``coords [B, P, 3]``,
        ``mask [B, P]``, ``p4 [B, P, 4]`` (float64), ``log_m_over_pt [B]``.
    """

    feature_mean: Tensor
    feature_std: Tensor

    def __init__(self, config: FlowDecoderConfig | dict[str, object] | None = None) -> None:
        super().__init__()
        cfg = FlowDecoderConfig.coerce(config)
        self.config = cfg
        w = cfg.width
        self.type_embedding = nn.Embedding(NUM_TYPES, w)
        self.scalar_head = nn.Sequential(
            nn.Linear(cfg.latent_dim + w, w), nn.GELU(), nn.Linear(w, w), nn.GELU(), nn.Linear(w, 2)
        )
        condition_dim = cfg.latent_dim + w + 2
        self.velocity: nn.Module
        if cfg.velocity == "lgatr":
            from ..nn.lgatr_velocity import LGATrVelocityField

            self.velocity = LGATrVelocityField(
                condition_dim,
                width=w,
                layers=cfg.layers,
                heads=cfg.heads,
                feature_mean=cfg.feature_mean,
                feature_std=cfg.feature_std,
            )
        else:
            self.velocity = SetTransformerVelocityField(
                3, condition_dim, w, cfg.layers, cfg.heads, cfg.mlp_ratio
            )
        self.calibration = (
            ScalarCalibration(cfg.calibration_knots, NUM_TYPES) if cfg.calibration_knots else None
        )
        k = cfg.pt_calibration_knots  # one map per (type, pT rank): group type * P + rank
        self.pt_calibration = ScalarCalibration(k, NUM_TYPES * cfg.max_particles) if k else None
        self.register_buffer("feature_mean", torch.tensor(cfg.feature_mean), persistent=False)
        self.register_buffer("feature_std", torch.tensor(cfg.feature_std), persistent=False)

    # ------------------------------------------------------------------ pieces
    def _scalar_params(self, z: Tensor, emb: Tensor) -> tuple[Tensor, Tensor]:
        mean, log_sigma = self.scalar_head(torch.cat([z, emb], -1)).unbind(-1)
        return mean, log_sigma.clamp(-7.0, 3.0)

    def _draw_scalar(self, z: Tensor, emb: Tensor, normal: Tensor) -> Tensor:
        """The head's standardised jet scalar for standard normal numbers (uncalibrated)."""
        mean, log_sigma = self._scalar_params(z, emb)
        return mean + log_sigma.exp() * normal

    def _condition(self, z: Tensor, emb: Tensor, scalar: Tensor, n: Tensor) -> Tensor:
        frac = n.to(z.dtype) / self.config.max_particles
        return torch.cat([z, emb, scalar[:, None].to(z.dtype), frac[:, None]], -1)

    def ode_settings(self, steps: object = None, solver: object = None) -> tuple[int, str]:
        """The ODE ``(steps, solver)`` of a call: the config's where ``None``, checked.

        Raises:
            ValueError: ``steps`` below 1 or not an int, an unknown ``solver``, or, for a
                distilled decoder, any setting but its own (named).
        """
        cfg = self.config
        steps = _positive_int("steps", cfg.steps if steps is None else steps)
        solver = cfg.solver if solver is None else solver
        if solver not in SOLVERS:
            msg = f"solver must be one of {SOLVERS}, got {solver!r}"
            raise ValueError(msg)
        assert isinstance(solver, str)
        if cfg.distilled_steps and (steps, solver) != (cfg.distilled_steps, "euler"):
            teacher = (
                f"the model it was distilled from, {cfg.distilled_from!r},"
                if cfg.distilled_from
                else "the undistilled model it was distilled from"
            )
            msg = (
                f"steps={steps}, solver={solver!r}: this decoder was distilled for "
                f"{cfg.distilled_steps} Euler steps and gives faithful jets only with them "
                f"(leave steps and solver unset); {teacher} integrates any steps and solver"
            )
            raise ValueError(msg)
        return steps, solver

    def _check(self, z: Tensor, jet_type: Tensor) -> None:
        if z.dim() != 2 or z.shape[1] != self.config.latent_dim:
            msg = f"z must have shape [B, {self.config.latent_dim}], got {tuple(z.shape)}"
            raise ValueError(msg)
        if jet_type.shape != z.shape[:1]:
            msg = f"jet_type must have shape [{z.shape[0]}], got {tuple(jet_type.shape)}"
            raise ValueError(msg)
        bad = (jet_type < 0) | (jet_type >= NUM_TYPES)
        if bool(bad.any()):
            i = int(bad.nonzero()[0, 0])
            msg = f"jet_type of jet {i} is {int(jet_type[i])}; expected a code in 0..4"
            raise ValueError(msg)

    # ------------------------------------------------------------------ training
    def loss(
        self,
        z: Tensor,
        jet_type: Tensor,
        particles: Tensor,
        mask: Tensor,
        generator: torch.Generator | None = None,
    ) -> dict[str, Tensor]:
        """Flow-matching loss, the scalar head's negative log-likelihood and their sum.

        Arguments:
            z: Latent codes (draws ``mu + sigma * eps`` of the frozen encoder).
            jet_type: Type codes.
            particles: Relative coordinates; padded slots may hold anything (NaN too).
            mask: ``True`` for real particles (at least one per jet).
            generator: Source of the noise and flow times (the global RNG if ``None``).

        Returns:
            ``{"flow", "scalar", "total"}`` scalars.
        """
        self._check(z, jet_type)
        keep = mask.to(torch.bool)
        dtype = z.dtype
        x1 = (particles.to(dtype) - self.feature_mean.to(dtype)) / self.feature_std.to(dtype)
        x1 = torch.where(keep[..., None], x1, torch.zeros((), dtype=dtype, device=z.device))
        n = keep.sum(1)
        target = (relative_log_mass(particles.to(dtype), keep) - self.config.scalar_mean) / (
            self.config.scalar_std
        )
        emb = self.type_embedding(jet_type.long())
        mean, log_sigma = self._scalar_params(z, emb)
        nll = (0.5 * ((target - mean) * torch.exp(-log_sigma)) ** 2 + log_sigma).mean()
        x0 = torch.randn(x1.shape, generator=generator, dtype=dtype, device=z.device)
        t = torch.rand(x1.shape[0], generator=generator, dtype=dtype, device=z.device)
        if self.config.time_power != 1.0:  # more of the flow times near the data end
            t = 1.0 - (1.0 - t) ** self.config.time_power
        xt = interpolate(x0, x1, t)
        v = self.velocity(xt, t, self._condition(z, emb, target, n), keep)
        flow = flow_matching_loss(v, x0, x1, t, keep)
        return {"flow": flow, "scalar": nll, "total": flow + self.config.scalar_weight * nll}

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def sample(
        self,
        z: Tensor,
        jet_type: Tensor,
        multiplicity: Tensor,
        seed: int | None = None,
        steps: int | None = None,
        solver: str | None = None,
        first_index: int = 0,
        jet_pt: Tensor | float = 1.0,
        jet_eta: Tensor | float = 0.0,
        jet_phi: Tensor | float = 0.0,
    ) -> dict[str, Tensor]:
        """Generates one particle set per latent code by integrating the learned ODE.

        Arguments:
            z: Latent codes.
            jet_type: Type codes.
            multiplicity: Multiplicities in ``1..max_particles`` (e.g. drawn from the HyperVAE's
                multiplicity head); the first ``n`` slots of each jet are real.
            seed: Seed of the per-jet random streams (a fresh random seed if ``None``;
                the global RNG is untouched).
            steps: ODE steps (``config.steps`` by default), at least 1.
            solver: ``"euler"``, ``"midpoint"`` or ``"heun"`` (``config.solver`` by default).
            first_index: Index of the first jet in the run: jet ``i`` of this call uses
                the stream of jet ``first_index + i``, so generating in blocks gives the
                same jets as one call.
            jet_pt, jet_eta, jet_phi: Where :func:`to_four_vectors` puts the jets.

        Returns:
            ``coords`` (float64 relative coordinates, zero on padding), ``mask``, ``p4``
            (massless float64 4-momenta) and the drawn ``log_m_over_pt``.

        Raises:
            ValueError: ``steps`` below 1 or not an int, an unknown ``solver``, settings a
                distilled decoder was not distilled for, or ``multiplicity`` outside
                ``1..max_particles`` (naming the jet).
        """
        cfg = self.config
        steps, solver = self.ode_settings(steps, solver)
        self._check(z, jet_type)
        n = torch.as_tensor(multiplicity, device=z.device).long().reshape(-1)
        if n.shape != z.shape[:1]:
            msg = f"multiplicity must have shape [{z.shape[0]}], got {tuple(n.shape)}"
            raise ValueError(msg)
        bad = (n < 1) | (n > cfg.max_particles)
        if bool(bad.any()):
            i = int(bad.nonzero()[0, 0])
            msg = f"multiplicity of jet {i} is {int(n[i])}; expected 1..max_particles={cfg.max_particles}"
            raise ValueError(msg)
        if seed is None:
            seed = int.from_bytes(os.urandom(8), "little") >> 1
        b, p = z.shape[0], cfg.max_particles
        noise = torch.empty(b, p * 3 + 1, dtype=torch.float64)
        stream = torch.Generator()
        for i in range(b):
            stream.manual_seed(_jet_seed(int(seed), first_index + i))
            noise[i] = torch.randn(p * 3 + 1, generator=stream, dtype=torch.float64)
        coords, mask, scalar = self.integrate_noise(z, jet_type, n, noise, steps, solver)
        log_m = scalar.double() * cfg.scalar_std + cfg.scalar_mean
        p4 = to_four_vectors(coords, mask, jet_pt, jet_eta, jet_phi)
        return {"coords": coords, "mask": mask, "p4": p4, "log_m_over_pt": log_m}

    @torch.no_grad()
    def integrate_noise(
        self,
        z: Tensor,
        jet_type: Tensor,
        multiplicity: Tensor,
        noise: Tensor,
        steps: int,
        solver: str,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """The particles of given per-jet noise: the jet scalar, then the ODE from ``t = 0``.

        :meth:`sample` draws the noise from per-jet seeded streams; a caller with its own
        streams (the HyperVAE's generation) passes it here. Arguments are not checked.

        Shapes:
            z ``[B, latent_dim]``, jet_type and multiplicity ``[B]``, noise
            ``[B, 3 P + 1]`` (the last column draws the jet scalar) -> coords
            ``[B, P, 3]`` (float64, zero on padding), mask ``[B, P]``, scalar ``[B]``
            (standardised).
        """
        was_training = self.training
        self.eval()
        try:
            x, cond, mask, scalar = self._start(z, jet_type, multiplicity, noise)
            x = self._integrate(x, cond, mask, steps, solver)
        finally:
            self.train(was_training)
        return self._finish(x, mask, scalar, jet_type), mask, scalar

    @torch.no_grad()
    def _start(
        self, z: Tensor, jet_type: Tensor, multiplicity: Tensor, noise: Tensor
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """The ODE's start ``x0`` (standardised, zero on padding), the velocity field's
        condition, the mask and the (calibrated, standardised) jet scalar."""
        b, p = z.shape[0], self.config.max_particles
        noise = noise.to(device=z.device, dtype=z.dtype)
        mask = torch.arange(p, device=z.device)[None, :] < multiplicity[:, None]
        emb = self.type_embedding(jet_type.long())
        scalar = self._draw_scalar(z, emb, noise[:, -1])
        cfg = self.config
        if self.calibration is not None:  # the head's ln(m/pT) mapped to the real one's
            log_m = self.calibration(scalar * cfg.scalar_std + cfg.scalar_mean, jet_type)
            scalar = ((log_m - cfg.scalar_mean) / cfg.scalar_std).to(scalar.dtype)
        cond = self._condition(z, emb, scalar, multiplicity)
        x = noise[:, :-1].reshape(b, p, 3) * mask[..., None]
        return x, cond, mask, scalar

    def _finish(self, x: Tensor, mask: Tensor, scalar: Tensor, jet_type: Tensor) -> Tensor:
        """Float64 coordinates of the ODE's end point, pT-calibrated and mass-projected
        if configured."""
        cfg = self.config
        coords = x.double() * self.feature_std.double() + self.feature_mean.double()
        coords = torch.where(mask[..., None], coords, torch.zeros((), dtype=torch.float64))
        if self.pt_calibration is not None:
            coords = self.calibrate_pt(coords, mask, jet_type)
        if cfg.project_mass:
            log_m = scalar.double() * cfg.scalar_std + cfg.scalar_mean
            coords = scale_to_log_mass(coords, mask, log_m)
        return coords

    def calibrate_pt(self, coords: Tensor, mask: Tensor, jet_type: Tensor) -> Tensor:
        """Relative coordinates with each particle's ``ln pt_rel`` mapped by its (type, rank).

        The coordinates are first re-expressed relative to the particles' own sum (what
        the map was fitted on), then each particle's ``ln pt_rel`` goes through the map
        of its jet type and pT rank, and the result is re-expressed relative to the new
        sum. Identity where no map was fitted (besides that re-expression).

        Shapes:
            coords ``[B, P, 3]`` float64, mask ``[B, P]``, jet_type ``[B]`` -> ``[B, P, 3]``.
        """
        if self.pt_calibration is None:
            msg = "calibrate_pt: this decoder has no pT calibration (pt_calibration_knots=0)"
            raise ValueError(msg)
        keep = mask.to(torch.bool)
        coords = relative_coordinates(to_four_vectors(coords, keep), keep)
        rank, _ = ranked_log_pt(coords, keep)
        group = jet_type.long().to(coords.device)[:, None] * self.config.max_particles + rank
        mapped = self.pt_calibration(coords[..., 2].reshape(-1), group.reshape(-1))
        coords = torch.cat([coords[..., :2], mapped.reshape(rank.shape)[..., None]], -1)
        coords = torch.where(keep[..., None], coords, torch.zeros((), dtype=coords.dtype))
        return relative_coordinates(to_four_vectors(coords, keep), keep)

    @torch.no_grad()
    def trajectory(
        self,
        z: Tensor,
        jet_type: Tensor,
        multiplicity: Tensor,
        noise: Tensor,
        points: int,
        steps: int,
        solver: str,
    ) -> dict[str, Tensor]:
        """The ODE's states at ``t = k / points`` (``k = 0..points``), for distillation.

        Integrates like :meth:`integrate_noise` with ``steps`` steps of ``solver`` in all
        (a multiple of ``points``) and keeps the standardised state at each grid time.

        Shapes:
            as :meth:`integrate_noise` -> ``states [B, points + 1, P, 3]``, ``scalar [B]``,
            ``mask [B, P]``.
        """
        if steps % points:
            msg = f"steps={steps} must be a multiple of points={points}"
            raise ValueError(msg)
        was_training = self.training
        self.eval()
        try:
            x, cond, mask, scalar = self._start(z, jet_type, multiplicity, noise)
            states = [x]
            for k in range(points):
                x = self._integrate(
                    x, cond, mask, steps // points, solver, k / points, (k + 1) / points
                )
                states.append(x)
        finally:
            self.train(was_training)
        return {"states": torch.stack(states, 1), "scalar": scalar, "mask": mask}

    def _integrate(
        self,
        x: Tensor,
        cond: Tensor,
        mask: Tensor,
        steps: int,
        solver: str,
        t0: float = 0.0,
        t1: float = 1.0,
    ) -> Tensor:
        dt = (t1 - t0) / steps
        ones = torch.ones(x.shape[0], dtype=x.dtype, device=x.device)

        def v(x: Tensor, t: float) -> Tensor:
            out: Tensor = self.velocity(x, ones * t, cond, mask)
            return out

        for k in range(steps):
            t = t0 + k * dt
            if solver == "euler":
                x = x + dt * v(x, t)
            elif solver == "midpoint":
                x = x + dt * v(x + 0.5 * dt * v(x, t), t + 0.5 * dt)
            else:  # heun
                v1 = v(x, t)
                x = x + 0.5 * dt * (v1 + v(x + dt * v1, t + dt))
        return x

    # ------------------------------------------------------------------ I/O
    def save_pretrained(self, directory: str | os.PathLike[str]) -> Path:
        """Writes ``model.safetensors`` and ``config.json`` (format 2) into ``directory``."""
        from .._io import save_weights

        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        return save_weights(directory, state, type(self).__name__, self.config.to_dict())

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike[str], device: str = "cpu") -> FlowDecoder:
        """Loads a decoder written by :meth:`save_pretrained` (strict; never unpickles)."""
        from .._io import load_weights, read_config_json

        name, values = read_config_json(directory)
        if name != cls.__name__:
            msg = f"{Path(directory) / 'config.json'}: holds a {name!r}, not a {cls.__name__}"
            raise ValueError(msg)
        model = cls(FlowDecoderConfig.from_dict(values))
        try:
            model.load_state_dict(load_weights(directory, device), strict=True)
        except RuntimeError as error:
            msg = f"{Path(directory)}: model.safetensors does not match config.json: {error}"
            raise ValueError(msg) from None
        return model.to(device).eval()

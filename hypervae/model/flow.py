r"""The flow-matching particle decoder behind the :class:`~hypervae.model.slots.ParticleDecoder` seam.

:class:`FlowParticleDecoder` holds a :class:`~hypervae.model.flow_decoder.FlowDecoder`
(``self.flow``) and adapts it to what :class:`~hypervae.model.HyperVAE` asks of its
particle decoder (``decoder="flow"``):

* ``forward`` gives no per-slot particles (``(None, None)``): the particles only exist
  as samples of :math:`p(\eta_\mathrm{rel}, \phi_\mathrm{rel}, \ln p_{T,\mathrm{rel}}
  \mid z, \mathrm{type}, n)`;
* ``loss`` turns the real particles (jet frame) into coordinates relative to their sum
  and returns the flow-matching term ``flow`` and the jet-scalar head's ``scalar``
  (negative log-likelihood) of :meth:`FlowDecoder.loss
  <hypervae.model.flow_decoder.FlowDecoder.loss>`;
* ``sample`` integrates the ODE from per-jet noise that the generation draws from its
  seed-stable per-jet streams (``noise_shape = (3 * max_particles + 1,)``: the particles'
  starting points and the jet scalar's normal number), so a jet does not depend on the
  batch it is decoded in. The particles are massless, float64, in the jet frame (sum
  along +x with :math:`p_T = 1`).

:func:`with_flow_decoder` builds a flow-decoder HyperVAE from a trained (slot) HyperVAE
and a separately trained :class:`~hypervae.model.flow_decoder.FlowDecoder`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from ..datasets.jets import JET_TYPES
from .calibration import ScalarCalibration
from .config import HyperVAEConfig
from .coordinates import relative_coordinates, to_four_vectors
from .flow_decoder import SOLVERS, FlowDecoder
from .masses import ParticleMasses
from .outputs import Decoded

if TYPE_CHECKING:
    from .network import HyperVAE

__all__ = [
    "FlowParticleDecoder",
    "check_ode_options",
    "fit_flow_standardisation",
    "fit_particle_masses",
    "fit_pt_calibration",
    "fit_scalar_calibration",
    "kept_pt_fraction",
    "relative_coordinates",
    "standardisation_of",
    "with_flow_decoder",
]


def check_ode_options(steps: object, solver: object) -> None:
    """Refuses bad ODE settings up front, naming the argument.

    Raises:
        ValueError: ``steps`` not an int >= 1 or ``solver`` not one of ``SOLVERS``
            (``None`` means the decoder's default).
    """
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        msg = f"steps: expected an int >= 1 (ODE steps of the flow decoder), got {steps!r}"
        raise ValueError(msg)
    if solver is not None and solver not in SOLVERS:
        msg = f"solver: expected one of {list(SOLVERS)}, got {solver!r}"
        raise ValueError(msg)


@torch.no_grad()
def fit_flow_standardisation(
    graphs: Sequence[Any], max_particles: int, batch_size: int = 1000
) -> dict[str, Any]:
    """The flow decoder's standardisations fitted on training jets.

    Over the real particles of ``graphs`` (up to ``max_particles`` per jet, as the loss
    sees them): mean and standard deviation of ``(eta_rel, phi_rel, ln pt_rel)`` relative
    to the particle sum (:func:`relative_coordinates`), and of the particle-sum
    ``ln(m/pT)`` (:func:`~hypervae.model.flow_decoder.relative_log_mass`). The values
    are the ``feature_mean``, ``feature_std``, ``scalar_mean`` and ``scalar_std`` fields
    of :class:`~hypervae.model.flow_decoder.FlowDecoderConfig`.

    Arguments:
        graphs: Jet hypergraphs (``hypervae.graph.build_hypergraphs``).
        max_particles: The model's ``max_particles``.
        batch_size: Jets per batch while fitting.

    Examples:
        >>> import hypervae as hv
        >>> jets = hv.datasets.load_sample("w", split="val")[:50]
        >>> graphs = hv.graph.build_hypergraphs(jets, {"budget": "knn", "k": 2})
        >>> stats = fit_flow_standardisation(graphs, max_particles=30)
        >>> sorted(stats), 0.05 < stats["feature_std"][0] < 0.3
        (['feature_mean', 'feature_std', 'scalar_mean', 'scalar_std'], True)
    """
    from torch_geometric.data import Batch

    from ..graph.batch import JetBatch

    if not len(graphs):
        msg = "graphs: no training jets to fit the flow standardisation on"
        raise ValueError(msg)
    coords, masks = [], []
    for start in range(0, len(graphs), batch_size):
        jb = JetBatch.from_data(Batch.from_data_list(list(graphs[start : start + batch_size])))
        x, mask = jb.to_dense(max_particles, dtype=torch.float64)
        coords.append(relative_coordinates(x, mask))
        masks.append(mask.bool())
    return standardisation_of(torch.cat(coords), torch.cat(masks))


@torch.no_grad()
def kept_pt_fraction(
    graphs: Sequence[Any], max_particles: int, batch_size: int = 1000
) -> tuple[Tensor, Tensor]:
    """Per jet: type code and the pT of its leading ``max_particles`` particles' sum over
    the jet's pT (the clustered jet of the graph's ``y``), for :meth:`FlowParticleDecoder.fit_pt_fraction`.

    Example:
        >>> import hypervae as hv
        >>> jets = hv.datasets.load_sample("t", split="val")[:20]
        >>> graphs = hv.graph.build_hypergraphs(jets, {"budget": "knn", "k": 2})
        >>> types, fraction = kept_pt_fraction(graphs, max_particles=30)
        >>> types.unique().tolist(), 0.7 < float(fraction.mean()) < 1.0
        ([2], True)
    """
    from torch_geometric.data import Batch

    from ..graph.batch import JetBatch

    types, fractions = [], []
    for start in range(0, len(graphs), batch_size):
        chunk = list(graphs[start : start + batch_size])
        jb = JetBatch.from_data(Batch.from_data_list(chunk))
        x, mask = jb.to_dense(max_particles, dtype=torch.float64)
        kept = torch.where(mask[..., None].bool(), x, torch.zeros(())).sum(1)[:, 1:3].norm(dim=-1)
        scale = torch.cat([g.frame.reshape(-1, 3)[:, 2] for g in chunk]).double()
        jet_type, features = JetBatch.jet_info(jb)
        types.append(jet_type.long())
        fractions.append(kept * scale / features[:, 0].double())
    return torch.cat(types), torch.cat(fractions)


def standardisation_of(coords: Tensor, mask: Tensor) -> dict[str, Any]:
    """Mean and standard deviation of relative coordinates and of the particle-sum ln(m/pT).

    The fields ``feature_mean``, ``feature_std``, ``scalar_mean``, ``scalar_std`` of
    :class:`~hypervae.model.flow_decoder.FlowDecoderConfig` (standard deviations floored
    at 1e-6), from padded ``(eta_rel, phi_rel, ln pt_rel)``.

    Shapes:
        coords ``[N, P, 3]``, mask ``[N, P]`` (at least one real particle in all).
    """
    from .coordinates import relative_log_mass

    coords, mask = coords.double(), mask.bool()
    valid = coords[mask]
    scalar = relative_log_mass(coords, mask)
    return {
        "feature_mean": tuple(valid.mean(0).tolist()),
        "feature_std": tuple(valid.std(0).clamp(min=1e-6).tolist()),
        "scalar_mean": float(scalar.mean()),
        "scalar_std": max(float(scalar.std()), 1e-6),
    }


class FlowParticleDecoder(nn.Module):
    """A :class:`~hypervae.model.flow_decoder.FlowDecoder` as the HyperVAE's particle decoder.

    Arguments:
        config: The model's :class:`~hypervae.model.HyperVAEConfig` (its ``flow`` section).

    Shapes:
        loss: target ``[B, P, 4]`` (jet frame), mask ``[B, P]``; sample: multiplicity
        ``[B]``, noise ``[B, 3 P + 1]`` -> p4 ``[B, P, 4]`` float64 (CPU), mask ``[B, P]``.
    """

    #: The name of this decoder kind.
    kind = "flow"
    #: Per-type mean of ``ln(sum of the kept particles' pT / jet pT)``.
    log_pt_fraction: Tensor

    def __init__(self, config: HyperVAEConfig) -> None:
        super().__init__()
        self.flow = FlowDecoder(config.flow)
        self.noise_shape: tuple[int, ...] | None = (3 * config.max_particles + 1,)
        # The jet head predicts the clustered jet, of which the kept particles carry a
        # part (about 87 % of the pT for 30-particle top jets): the particles, whose
        # coordinates are relative to their own sum, are scaled by this fraction. Set by
        # :meth:`fit_pt_fraction` (``hypervae train`` fits it on the training graphs with
        # :func:`kept_pt_fraction`; the graphs' own jet frame cannot show it, as it is
        # the sum of the particles the data kept).
        self.register_buffer("log_pt_fraction", torch.zeros(len(JET_TYPES)))
        k = config.flow.mass_categories
        self.masses = ParticleMasses(k, config.max_particles, len(JET_TYPES)) if k else None

    @torch.no_grad()
    def fit_pt_fraction(self, jet_type: Tensor, fraction: Tensor) -> Tensor:
        """Sets :attr:`log_pt_fraction` to the per-type mean ``ln fraction`` of real jets.

        Arguments:
            jet_type: Type codes ``[N]``.
            fraction: Sum of each jet's kept particles' pT over the jet's pT ``[N]``.

        Returns:
            The fitted buffer (types without jets keep their value).
        """
        logs = torch.log(fraction.double())
        for code in range(len(JET_TYPES)):
            pick = jet_type == code
            if bool(pick.any()):
                self.log_pt_fraction[code] = logs[pick].mean().to(self.log_pt_fraction.dtype)
        return self.log_pt_fraction

    @property
    def massless(self) -> bool:
        """The flow decoder's particles are massless (before :meth:`particle_masses`)."""
        return True

    def particle_masses(self, uniform: Tensor, jet_type: Tensor) -> Tensor | None:
        """Masses ``[B, P]`` (GeV, by pT rank) of fitted :attr:`masses`, else None."""
        if self.masses is None or not bool(self.masses.fitted.any()):
            return None
        masses: Tensor = self.masses(uniform, jet_type)
        return masses

    def forward(
        self, condition: Tensor, jet_vector: Tensor, basis: Tensor
    ) -> tuple[Tensor | None, Tensor | None]:
        """No per-slot particles: the flow decoder only samples (see :meth:`sample`)."""
        del condition, jet_vector, basis
        return None, None

    def loss(
        self, decoded: Decoded, target: Tensor, mask: Tensor, tau: float = 1.0
    ) -> dict[str, Tensor]:
        """``flow`` (flow matching) and ``scalar`` (jet-scalar NLL) against the real particles.

        Draws the noise and flow times from the global torch RNG (training randomness).
        ``tau`` is unused.
        """
        del tau
        z, jet_type = _latent_of(decoded)
        coords = relative_coordinates(target.to(torch.float64), mask).to(z.dtype)
        out = self.flow.loss(z, jet_type, coords, mask)
        return {"flow": out["flow"], "scalar": out["scalar"]}

    @torch.no_grad()
    def sample(
        self,
        decoded: Decoded,
        multiplicity: Tensor,
        noise: Tensor | None = None,
        *,
        steps: int | None = None,
        solver: str | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Integrates the flow from ``noise`` for ``multiplicity`` particles per jet.

        Raises:
            ValueError: No ``noise``, bad ``steps``/``solver``, or settings other than
                those a distilled decoder was distilled for (named).
        """
        check_ode_options(steps, solver)
        steps, solver = self.flow.ode_settings(steps, solver)
        if noise is None:
            msg = "FlowParticleDecoder.sample: noise is required (per-jet normal numbers)"
            raise ValueError(msg)
        z, jet_type = _latent_of(decoded)
        coords, mask, _ = self.flow.integrate_noise(
            z, jet_type, multiplicity.to(z.device).long(), noise, steps, solver
        )
        coords, mask = coords.cpu(), mask.cpu()
        scale = self.log_pt_fraction.detach().cpu().double()[jet_type.long().cpu()].exp()
        return to_four_vectors(coords, mask, jet_pt=scale), mask


def _latent_of(decoded: Decoded) -> tuple[Tensor, Tensor]:
    if decoded.z is None or decoded.jet_type is None:
        msg = "FlowParticleDecoder: the Decoded has no latent codes (z, jet_type)"
        raise ValueError(msg)
    return decoded.z, decoded.jet_type


def with_flow_decoder(vae: HyperVAE, flow_decoder: FlowDecoder) -> HyperVAE:
    """A flow-decoder HyperVAE with ``vae``'s weights and ``flow_decoder`` as its decoder.

    Everything but the particle decoder (encoder, heads, prior, jet normalisation, run
    files) is copied from ``vae``; the slot decoder's weights, if any, are dropped.

    Arguments:
        vae: A trained HyperVAE (either decoder).
        flow_decoder: A trained flow decoder on ``vae``'s latent space.

    Raises:
        ValueError: ``latent_dim`` or ``max_particles`` of the two differ (named).
    """
    fc = flow_decoder.config
    for name in ("latent_dim", "max_particles"):
        if getattr(fc, name) != getattr(vae.config, name):
            msg = (
                f"flow_decoder.config.{name}={getattr(fc, name)} differs from the VAE's "
                f"{name}={getattr(vae.config, name)}"
            )
            raise ValueError(msg)
    state = {k: v for k, v in vae.state_dict().items() if not k.startswith("particle_decoder.")}
    state.update({f"particle_decoder.flow.{k}": v for k, v in flow_decoder.state_dict().items()})
    # ln 1 until fitted (fit_pt_fraction): the new model's own
    model = _rebuilt(vae, vae.config.replace(decoder="flow", flow=fc), state, "log_pt_fraction")
    return model.train(vae.training)


def _rebuilt(
    source: HyperVAE, config: HyperVAEConfig, state: dict[str, Tensor], fresh: str | None
) -> HyperVAE:
    """A new model of ``config`` on ``source``'s device and dtype, loaded strictly from
    ``state`` except the keys containing ``fresh`` (the new model's own; ``None``: none),
    with ``source``'s graph settings and edge normalisation."""
    model: HyperVAE = type(source)(config)
    param = next(source.parameters())
    model = model.to(device=param.device, dtype=param.dtype)
    if fresh is not None:
        state = {k: v for k, v in state.items() if fresh not in k}
        state.update({k: v for k, v in model.state_dict().items() if fresh in k})
    model.load_state_dict(state, strict=True)
    model.graph_config = source.graph_config
    model.edge_normalization = source.edge_normalization
    return model


def _with_flow_settings(
    model: HyperVAE, fresh: str | None, **changes: Any
) -> tuple[HyperVAE, FlowParticleDecoder]:
    """A copy of ``model`` (eval mode) with its ``flow`` config changed, and its decoder.

    State keys containing ``fresh`` are the new model's own (newly built parts); all
    others are copied from ``model``.
    """
    if not isinstance(model.particle_decoder, FlowParticleDecoder):
        msg = f"the model's decoder is {model.config.decoder!r}, not 'flow'"
        raise ValueError(msg)  # noqa: TRY004 - a bad argument value, named
    config = model.config.replace(flow=model.config.flow.replace(**changes))
    out = _rebuilt(model, config, model.state_dict(), fresh)
    decoder = out.particle_decoder
    assert isinstance(decoder, FlowParticleDecoder)
    return out.eval(), decoder


def _kept_coordinates(jets: Any, max_particles: int) -> tuple[Tensor, Tensor, Tensor]:
    """Type codes, relative coordinates (:func:`relative_coordinates`, float64) and mask
    of each jet's ``max_particles`` leading particles."""
    import awkward as ak

    from ..physics.kinematics import to_padded

    for field in ("particles", "jet_type"):
        if field not in ak.fields(jets):
            msg = f"jets: no {field!r} field (fields: {ak.fields(jets)})"
            raise ValueError(msg)
    parts = jets.particles[ak.argsort(jets.particles.pt, axis=1, ascending=False)]
    p4, mask = (torch.from_numpy(a) for a in to_padded(parts[:, :max_particles], max_particles))
    pt = torch.where(mask, p4[..., 1:3].norm(dim=-1), torch.zeros(()))
    bad = ~(pt.sum(1) > 0) | ~torch.isfinite(p4).all(-1).all(-1)
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        msg = f"jets: jet {i} has no particle pT sum or a non-finite particle"
        raise ValueError(msg)
    codes = torch.from_numpy(ak.to_numpy(jets.jet_type).astype("int64"))
    return codes, relative_coordinates(p4.double(), mask), mask


def _kept_log_mass(jets: Any, max_particles: int) -> tuple[Tensor, Tensor]:
    """Type codes and the decoder's jet scalar of each jet: the ``ln(m/pT)`` of the massless
    sum of its leading particles (:func:`relative_coordinates`, then
    :func:`~hypervae.model.coordinates.relative_log_mass`, as the training loss does)."""
    from .coordinates import relative_log_mass

    codes, coords, mask = _kept_coordinates(jets, max_particles)
    return codes, relative_log_mass(coords, mask)


def _ranked_log_pt(jets: Any, max_particles: int) -> tuple[Tensor, Tensor]:
    """Group ``type * max_particles + rank`` and ``ln pt_rel`` of every kept particle."""
    from .coordinates import ranked_log_pt

    codes, coords, mask = _kept_coordinates(jets, max_particles)
    rank, _ = ranked_log_pt(coords, mask)
    group = codes[:, None] * max_particles + rank
    return group[mask], coords[..., 2][mask]


@torch.no_grad()
def fit_scalar_calibration(
    model: HyperVAE,
    jets: Any,
    knots: int = 128,
    project_mass: bool = True,
    draws: int = 20_000,
    seed: int = 0,
) -> HyperVAE:
    r"""A copy of a flow-decoder model whose jet scalar is calibrated on real jets.

    Per jet type, ``draws`` latent codes from the prior that :meth:`HyperVAE.sample`
    uses (the learned prior when fitted, else the standard normal) give the jet scalar
    :math:`\ln(m/p_T)` as the decoder draws it; the real jets give the massless sum of
    their ``max_particles`` leading particles (what the decoder is trained on). A
    :class:`~hypervae.model.calibration.ScalarCalibration` with ``knots`` quantiles maps
    the one to the other; with ``project_mass`` the decoder also scales each sampled
    jet's angular spread to the drawn mass
    (:func:`~hypervae.model.coordinates.scale_to_log_mass`). Fit on training jets. The
    map holds for the latent codes it was fitted with: ``sample(prior="standard")`` or
    a ``temperature`` other than 1 draws other codes, and the calibrated marginal no
    longer holds exactly for them.

    Arguments:
        model: A HyperVAE with ``decoder="flow"`` (its learned prior fitted first).
        jets: Real jets (``particles`` and ``jet_type`` fields), e.g. the training split.
        knots: Quantiles per type.
        project_mass: Whether sampling scales each jet to the drawn mass.
        draws: Generated scalars per type.
        seed: Seed of those draws (a private generator).

    Returns:
        A new model (the input is unchanged); types without jets stay uncalibrated.

    Raises:
        ValueError: Not a flow-decoder model, ``jets`` without the fields, or a type
            with fewer than ``knots`` jets (named).

    Example:
        >>> import hypervae as hv
        >>> model = hv.HyperVAE(hv.HyperVAEConfig(max_particles=6, latent_dim=4, hidden=16,
        ...     decoder="flow", flow={"width": 16, "layers": 1, "heads": 2}))
        >>> jets = hv.datasets.load_sample("t", split="val")[:100]
        >>> calibrated = fit_scalar_calibration(model, jets, knots=8, draws=200)
        >>> calibrated.particle_decoder.flow.calibration.fitted.tolist()
        [False, False, True, False, False]
    """
    codes, log_m = _kept_log_mass(jets, model.config.max_particles)
    out, decoder = _with_flow_settings(
        model, ".calibration.", calibration_knots=knots, project_mass=project_mass
    )
    param = next(out.parameters())
    flow = decoder.flow
    learned = out.prior is not None and bool(out.prior.fitted.any())
    gen = torch.Generator().manual_seed(seed)
    drawn_types, drawn = [], []
    for code in codes.unique().tolist():
        types = torch.full((draws,), code, dtype=torch.long)
        eps = torch.randn(draws, model.config.latent_dim, generator=gen, dtype=torch.float64)
        comp = torch.rand(draws, generator=gen, dtype=torch.float64)
        z = out.prior.transform(types, comp, eps) if learned and out.prior is not None else eps
        z = z.to(device=param.device, dtype=param.dtype)
        emb = flow.type_embedding(types.to(param.device))
        normal = torch.randn(draws, generator=gen, dtype=torch.float64).to(z)
        scalar = flow._draw_scalar(z, emb, normal).double().cpu()
        drawn.append(scalar * flow.config.scalar_std + flow.config.scalar_mean)
        drawn_types.append(types)
    assert flow.calibration is not None
    flow.calibration.fit(torch.cat(drawn_types), torch.cat(drawn), codes, log_m)
    return out.train(model.training)


@torch.no_grad()
def fit_particle_masses(model: HyperVAE, jets: Any, categories: int = 8) -> HyperVAE:
    """A copy of a flow-decoder model that gives its particles masses fitted on ``jets``.

    :class:`~hypervae.model.masses.ParticleMasses` with ``categories`` mass values,
    drawn per jet type and pT rank at sampling; each generated particle keeps its
    ``(pt, eta, phi)``. Fit on training jets.

    Raises:
        ValueError: Not a flow-decoder model, or ``jets`` without the fields (named).

    Example:
        >>> import hypervae as hv
        >>> model = hv.HyperVAE(hv.HyperVAEConfig(max_particles=6, latent_dim=4, hidden=16,
        ...     decoder="flow", flow={"width": 16, "layers": 1, "heads": 2}))
        >>> import awkward as ak
        >>> massive = fit_particle_masses(model, hv.datasets.load_sample("w", split="val"))
        >>> jets = massive.sample(20, jet_type="w", seed=0)
        >>> bool(ak.any(jets.particles.mass > 0.1)), model.particle_decoder.masses is None
        (True, True)
    """
    out, decoder = _with_flow_settings(model, ".masses.", mass_categories=categories)
    assert decoder.masses is not None
    decoder.masses.fit(jets)
    return out.train(model.training)


@torch.no_grad()
def fit_pt_calibration(
    model: HyperVAE,
    jets: Any,
    knots: int = 128,
    draws: int = 20_000,
    seed: int = 0,
    batch_size: int = 4096,
) -> HyperVAE:
    r"""A copy of a flow-decoder model whose particles' pT spectrum is calibrated on real jets.

    Per jet type and pT rank, the ``ln pt_rel`` of the particles (relative to the sum of
    the jet's ``max_particles`` leading particles) of ``draws`` jets sampled from the
    model as it is, against those of the real ``jets``: a
    :class:`~hypervae.model.calibration.ScalarCalibration` with ``knots`` quantiles per
    (type, rank) maps the one to the other (monotone, so within a rank the order of the
    jets is kept; :meth:`FlowDecoder.calibrate_pt
    <hypervae.model.flow_decoder.FlowDecoder.calibrate_pt>` applies it before the mass
    projection). Ranks with fewer than ``knots`` particles on either side stay
    unmapped. Fit on training jets; the map holds for the sampling settings of the fit
    (the model's default steps and solver, the learned prior, temperature 1).

    Arguments:
        model: A HyperVAE with ``decoder="flow"``.
        jets: Real jets (``particles`` and ``jet_type`` fields), e.g. the training split.
        knots: Quantiles per (type, rank).
        draws: Jets sampled per type present in ``jets``.
        seed: Seed of those jets.
        batch_size: Jets decoded at once.

    Returns:
        A new model (the input is unchanged).

    Raises:
        ValueError: Not a flow-decoder model, or ``jets`` without the fields (named).

    Example:
        >>> import hypervae as hv
        >>> model = hv.HyperVAE(hv.HyperVAEConfig(max_particles=6, latent_dim=4, hidden=16,
        ...     decoder="flow", flow={"width": 16, "layers": 1, "heads": 2, "steps": 2}))
        >>> jets = hv.datasets.load_sample("t", split="val")[:200]
        >>> calibrated = fit_pt_calibration(model, jets, knots=8, draws=200)
        >>> calibrated.particle_decoder.flow.pt_calibration.fitted.view(5, 6).any(1).tolist()
        [False, False, True, False, False]
    """
    p = model.config.max_particles
    real_group, real = _ranked_log_pt(jets, p)
    out, decoder = _with_flow_settings(model, ".pt_calibration.", pt_calibration_knots=knots)
    gen_group, gen = [], []
    for code in (real_group // p).unique().tolist():
        sampled = out.sample(draws, jet_type=int(code), seed=seed + code, batch_size=batch_size)
        g, v = _ranked_log_pt(sampled, p)
        gen_group.append(g)
        gen.append(v)
    assert decoder.flow.pt_calibration is not None
    _fit_where_populated(
        decoder.flow.pt_calibration, torch.cat(gen_group), torch.cat(gen), real_group, real
    )
    return out.train(model.training)


def _fit_where_populated(
    calibration: ScalarCalibration,
    source_group: Tensor,
    source: Tensor,
    target_group: Tensor,
    target: Tensor,
) -> Tensor:
    """Fits ``calibration`` on the groups with at least its ``knots`` values on both sides;
    the others stay unmapped. Returns the ``fitted`` flags."""
    groups = calibration.fitted.shape[0]
    counts = torch.minimum(
        torch.bincount(source_group, minlength=groups),
        torch.bincount(target_group, minlength=groups),
    )
    enough = counts >= calibration.knots
    use_source, use_target = enough[source_group], enough[target_group]
    return calibration.fit(
        source_group[use_source], source[use_source], target_group[use_target], target[use_target]
    )

"""The configuration of :class:`~hypervae.model.HyperVAE`: :class:`HyperVAEConfig`.

Both classes are frozen :class:`hypervae._config.Config` subclasses: every value is
checked (type, declared bounds, finiteness, ``Literal`` choices) when the config is built,
before any tensor is allocated from it, and errors name the dotted path of the field.

Examples:
    >>> cfg = HyperVAEConfig(latent_dim=8)
    >>> HyperVAEConfig.from_json(cfg.to_json()) == cfg
    True
    >>> HyperVAEConfig(latent_dim=0)
    Traceback (most recent call last):
        ...
    hypervae._config.ConfigError: HyperVAEConfig.latent_dim: must be >= 1, got 0
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .._config import Config, bounded
from ..nn.lgatr import ParticleLGATrConfig
from .flow_decoder import FlowDecoderConfig

if TYPE_CHECKING:
    import awkward as ak

__all__ = [
    "CHAMFER_SPACES",
    "DECODERS",
    "LOSS_TERMS",
    "PARTICLE_OUTPUTS",
    "HyperVAEConfig",
    "JetFeatureNorm",
]

#: How the decoder forms particles: ``"frame"`` (massless, from invariant coordinates in the
#: frame basis) or ``"vector"`` (the L-GATr's vector output channel).
PARTICLE_OUTPUTS = ("frame", "vector")
#: Where the Chamfer distance is taken: ``"angular"`` on (E, p_y/|p|, p_z/|p|) in the jet
#: frame (energy share and direction off the jet axis), ``"momentum"`` on (E, px, py, pz).
CHAMFER_SPACES = ("angular", "momentum")
#: The particle decoders: ``"flow"`` (stochastic, flow matching; the default of new
#: configs) or ``"slots"`` (deterministic slots; the shipped models before it).
DECODERS = ("slots", "flow")
#: The named terms of :func:`hypervae.model.objective.compute_loss` (``flow`` and
#: ``scalar`` for ``decoder="flow"``, the slot terms for ``decoder="slots"``).
LOSS_TERMS = (
    "chamfer", "eec", "jet", "consistency", "kl", "multiplicity", "existence", "flow", "scalar",
)  # fmt: skip
#: Default instances: recognised by identity, so a config left at its default can be
#: completed from the VAE's own fields (see :meth:`HyperVAEConfig.__post_init__`).
_DEFAULT_FLOW = FlowDecoderConfig()
_DEFAULT_SLOTS = ParticleLGATrConfig()


@dataclass(frozen=True)
class JetFeatureNorm(Config):
    """Mean and standard deviation of ``(log pT, eta, log mass)``, fitted on training jets.

    Every value must be finite and every standard deviation positive (a NaN statistic
    would turn every generated jet into NaN).
    """

    mean: tuple[float, ...] = (math.log(1000.0), 0.0, math.log(100.0))
    std: tuple[float, ...] = (0.1, 1.0, 0.5)

    def validate(self) -> None:
        for name in ("mean", "std"):
            if len(getattr(self, name)) != 3:
                raise self.error(name, f"expected 3 values, got {len(getattr(self, name))}")
        for i, value in enumerate(self.std):
            if not value > 0:
                raise self.error(f"std[{i}]", f"must be > 0, got {value}")

    @classmethod
    def fit(cls, jets: ak.Array) -> JetFeatureNorm:
        """Fits the statistics on jets (use the training split only)."""
        feats = _jet_targets(jets)
        mean = tuple(float(v) for v in feats.mean(0))
        std = tuple(float(v) for v in np.maximum(feats.std(0), 1e-3))
        return cls(mean=mean, std=std)


def _jet_targets(jets: ak.Array) -> np.ndarray:
    import awkward as ak

    pt = ak.to_numpy(jets["pt"]).astype(np.float64)
    mass = np.maximum(ak.to_numpy(jets["mass"]).astype(np.float64), 1e-3)
    return np.stack([np.log(pt), ak.to_numpy(jets["eta"]).astype(np.float64), np.log(mass)], -1)


def _default_weights() -> dict[str, float]:
    return {
        "chamfer": 300.0,  # angular Chamfer values are ~1e-2: keep the term visible
        "eec": 10.0,
        "jet": 1.0,
        "consistency": 1.0,
        "kl": 1.0,
        "multiplicity": 0.1,
        "existence": 1.0,
    }


@dataclass(frozen=True)
class HyperVAEConfig(Config):
    """Every hyperparameter of :class:`~hypervae.model.HyperVAE`; dicts in, JSON round trip.

    Attributes:
        max_particles: Particle slots of the decoder and the largest jet the encoder takes.
        latent_dim: Dimension of the latent code.
        hidden: Width of the embeddings and MLPs.
        num_heads: Heads of the incidence cross-attention (``hidden`` divisible by it).
        edge_features, hyperedge_features: Widths of ``edge_attr`` / ``hyperedge_attr``.
        use_edges, use_hyperedges: Whether the encoder reads edges / hyperedges.
        encoder: The encoder's L-GATr network.
        decoder: The particle decoder, ``"flow"`` (default) or ``"slots"``. A mapping
            here (the slot decoder's L-GATr settings, as in configs written before the
            flow decoder existed) is read as ``slot_decoder`` with ``decoder="slots"``
            (deprecated spelling).
        slot_decoder: The slot decoder's L-GATr network (``decoder="slots"``).
        flow: The flow decoder (``decoder="flow"``); its ``latent_dim`` and
            ``max_particles`` must equal the VAE's and are filled from them when left out.
        logvar_min, logvar_max: Clamp of the posterior log-variance.
        free_bits: Free bits of the KL term (nats per latent dimension).
        prior_components: Components of the learned per-type mixture prior (0: none).
        particle_output: ``"frame"`` (massless particles in the frame basis) or ``"vector"``.
        chamfer_space: ``"angular"`` or ``"momentum"`` (see ``CHAMFER_SPACES``).
        chamfer_energy_weight: Weight of the energy coordinate in the angular Chamfer.
        consistency_mass_weight: Weight of the log-mass part of the consistency term.
        loss_weights: Weight of each named loss term (keys from ``LOSS_TERMS``).
        norm: Jet-feature normalisation (fitted on the training split).

    Examples:
        >>> HyperVAEConfig(loss_weights={"chamfr": 1.0})
        Traceback (most recent call last):
            ...
        hypervae._config.ConfigError: HyperVAEConfig.loss_weights.chamfr: unknown loss term; expected some of ['chamfer', 'eec', 'jet', 'consistency', 'kl', 'multiplicity', 'existence', 'flow', 'scalar']
    """

    max_particles: int = bounded(30, ge=1, le=1000)
    latent_dim: int = bounded(16, ge=1, le=4096)
    hidden: int = bounded(64, ge=1, le=4096)
    num_heads: int = bounded(4, ge=1, le=256)
    edge_features: int = bounded(5, ge=1, le=4096)
    hyperedge_features: int = bounded(4, ge=1, le=4096)
    use_edges: bool = True
    use_hyperedges: bool = True
    encoder: ParticleLGATrConfig = field(default_factory=ParticleLGATrConfig)
    decoder: Literal["slots", "flow"] = "flow"
    slot_decoder: ParticleLGATrConfig = field(default_factory=lambda: _DEFAULT_SLOTS)
    logvar_min: float = bounded(-8.0, ge=-80.0, le=80.0)
    logvar_max: float = bounded(4.0, ge=-80.0, le=80.0)
    free_bits: float = bounded(0.0, ge=0.0)
    prior_components: int = bounded(0, ge=0, le=1024)
    particle_output: Literal["frame", "vector"] = "frame"
    chamfer_space: Literal["angular", "momentum"] = "angular"
    chamfer_energy_weight: float = bounded(4.0, ge=0.0)
    consistency_mass_weight: float = bounded(1.0, ge=0.0)
    loss_weights: dict[str, float] = bounded(default_factory=_default_weights, ge=0.0)  # noqa: RUF009
    norm: JetFeatureNorm = field(default_factory=JetFeatureNorm)
    flow: FlowDecoderConfig = field(default_factory=lambda: _DEFAULT_FLOW)

    def __post_init__(self) -> None:
        legacy: Any = self.decoder
        if isinstance(legacy, (dict, ParticleLGATrConfig)):
            if self.slot_decoder is not _DEFAULT_SLOTS:
                raise self.error(
                    "decoder", "give 'slots' or 'flow' here when slot_decoder is given"
                )
            warnings.warn(
                "HyperVAEConfig.decoder as the slot decoder's L-GATr settings is deprecated; "
                "use slot_decoder=... with decoder='slots'",
                DeprecationWarning,
                stacklevel=3,
            )
            object.__setattr__(self, "slot_decoder", legacy)
            object.__setattr__(self, "decoder", "slots")
        flow: Any = self.flow
        dims = {"latent_dim": self.latent_dim, "max_particles": self.max_particles}
        if flow is _DEFAULT_FLOW:
            object.__setattr__(self, "flow", dims)
        elif isinstance(flow, dict):
            object.__setattr__(self, "flow", {**dims, **flow})
        super().__post_init__()

    def validate(self) -> None:
        for name in ("latent_dim", "max_particles"):
            if getattr(self.flow, name) != getattr(self, name):
                raise self.error(
                    f"flow.{name}",
                    f"must equal {name}={getattr(self, name)} (the flow decoder decodes this "
                    f"VAE's latent codes and particles; leave it out to take it), got "
                    f"{getattr(self.flow, name)}",
                )
        for key in self.loss_weights:
            if key not in LOSS_TERMS:
                raise self.error(
                    f"loss_weights.{key}", f"unknown loss term; expected some of {list(LOSS_TERMS)}"
                )
        if self.logvar_min > self.logvar_max:
            raise self.error(
                "logvar_min", f"must be <= logvar_max={self.logvar_max}, got {self.logvar_min}"
            )
        if (self.use_edges or self.use_hyperedges) and self.hidden % self.num_heads:
            raise self.error("num_heads", f"must divide hidden={self.hidden}, got {self.num_heads}")

r"""The hypergraph VAE: :class:`HyperVAE` and :class:`HyperVAEConfig`.

**Encoder.** Particles (4-momenta in the canonical jet frame, one scale per jet) go
through a Lorentz-equivariant L-GATr (:class:`~hypervae.nn.ParticleLGATr`), whose
invariant scalar outputs are the particle embeddings. Edge and hyperedge features go
through residual MLPs; each particle then attends to its incident edges and hyperedges
(:class:`~hypervae.nn.IncidenceCrossAttention`). Mean and max pooling give the jet
embedding; with the type embedding and the normalised jet features (log pT, eta, log
mass: the frame removes pT and eta from the particles) an MLP maps it to the latent mean
and the clamped log-variance.

**Decoder.** The latent code and a jet-type embedding condition three heads: jet
features (log pT, eta, log mass, normalised), a categorical multiplicity over
``1..max_particles``, and a particle decoder. The particle decoder is an L-GATr over
``max_particles`` slots whose scalar inputs are the condition plus a learned slot
embedding and whose vector inputs are the jet 4-momentum in the canonical frame
:math:`J = (\sqrt{1 + m^2/p_T^2}, 1, 0, 0)` and the frame's four basis vectors (without
these references an equivariant network could only emit multiples of :math:`J`); it
outputs one existence logit per slot and one 4-vector: by default
(``particle_output="frame"``) a massless particle built from three invariant outputs as
coordinates in the frame basis, else the L-GATr's vector output. Transforming :math:`J`
and the basis together by a Lorentz transformation transforms every output by it exactly.

**Topology.** Slot existence is sampled with a straight-through binary Gumbel-softmax
at temperature ``tau``: the existence loss is a binary cross-entropy tying the logits to
the true multiplicity (slot ``i`` exists when ``i < n``) plus the squared difference
between the Gumbel-sampled number of slots and ``n``, which reaches the logits through
the Gumbel relaxation; the multiplicity head is trained with a cross-entropy. At
sampling time the multiplicity is drawn from the head and the slots with the largest
existence logits are kept. The consistency loss compares the summed 4-momenta of the
first ``n`` slots with the summed real particles (both in the jet frame), plus
``consistency_mass_weight`` times the squared difference of their log invariant masses:
a 40 % mass deficit moves the 4-vector term by only ~1e-4 in frame units.

**Prior.** With ``prior_components > 0`` the model holds a per-type Gaussian mixture
(:class:`~hypervae.nn.GaussianMixturePrior`), the standard normal until
:meth:`HyperVAE.fit_prior` fits it to the aggregate posterior of the training jets after
training; :meth:`HyperVAE.sample` then draws latent codes from it. This lets training
use a small KL weight, so that the latent code carries the jet's information, without
sampling codes the decoder never saw.

**Losses.** Masked Chamfer distance on particles, a 1D Wasserstein distance on the
projected 2-point EEC, jet-feature MSE, consistency, KL with free bits, multiplicity
and existence cross-entropies (:meth:`HyperVAE.compute_loss` returns each term).

References:
    | Kingma, Welling, Auto-Encoding Variational Bayes (2013) https://arxiv.org/abs/1312.6114
    | Jang, Gu, Poole, Categorical Reparameterization with Gumbel-Softmax (2016)
    | https://arxiv.org/abs/1611.01144
    | Ghosh et al., From Variational to Deterministic Autoencoders (2020)
    | https://arxiv.org/abs/1903.12436
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import torch
from torch import Tensor, nn
from torch_geometric.utils import scatter, to_dense_batch

from .datasets.jets import JET_TYPES, jet_type_code, make_jets
from .losses import chamfer_distance, eec_distribution_loss, jet_feature_loss, kl_divergence
from .nn.fusion import IncidenceCrossAttention
from .nn.lgatr import ParticleLGATr, ParticleLGATrConfig
from .nn.mlp import ResidualMLP
from .nn.prior import GaussianMixturePrior
from .physics.kinematics import JetFrame, from_jet_frame, from_padded

__all__ = ["HyperVAE", "HyperVAEConfig", "JetFeatureNorm", "jet_info"]

#: How the decoder forms particles: ``"frame"`` (massless, from invariant coordinates in the
#: frame basis) or ``"vector"`` (the L-GATr's vector output channel).
PARTICLE_OUTPUTS = ("frame", "vector")
#: Where the Chamfer distance is taken: ``"angular"`` on (E, p_y/|p|, p_z/|p|) in the jet
#: frame (energy share and direction off the jet axis), ``"momentum"`` on (E, px, py, pz).
CHAMFER_SPACES = ("angular", "momentum")
LOSS_TERMS = ("chamfer", "eec", "jet", "consistency", "kl", "multiplicity", "existence")


@dataclass
class JetFeatureNorm:
    """Mean and standard deviation of ``(log pT, eta, log mass)``, fitted on training jets."""

    mean: list[float] = field(default_factory=lambda: [np.log(1000.0), 0.0, np.log(100.0)])
    std: list[float] = field(default_factory=lambda: [0.1, 1.0, 0.5])

    @classmethod
    def fit(cls, jets: ak.Array) -> JetFeatureNorm:
        """Fits the statistics on jets (use the training split only)."""
        feats = _jet_targets(jets)
        return cls(mean=feats.mean(0).tolist(), std=np.maximum(feats.std(0), 1e-3).tolist())


def _jet_targets(jets: ak.Array) -> np.ndarray:
    pt = ak.to_numpy(jets["pt"]).astype(np.float64)
    mass = np.maximum(ak.to_numpy(jets["mass"]).astype(np.float64), 1e-3)
    return np.stack([np.log(pt), ak.to_numpy(jets["eta"]).astype(np.float64), np.log(mass)], -1)


@dataclass
class HyperVAEConfig:
    """Every hyperparameter of :class:`HyperVAE`; accepts dicts and round-trips JSON.

    Examples:
        >>> cfg = HyperVAEConfig(latent_dim=8)
        >>> HyperVAEConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
        True
    """

    max_particles: int = 30
    latent_dim: int = 16
    hidden: int = 64
    num_heads: int = 4
    edge_features: int = 5
    hyperedge_features: int = 4
    use_edges: bool = True
    use_hyperedges: bool = True
    encoder: ParticleLGATrConfig = field(default_factory=ParticleLGATrConfig)
    decoder: ParticleLGATrConfig = field(default_factory=ParticleLGATrConfig)
    logvar_min: float = -8.0
    logvar_max: float = 4.0
    free_bits: float = 0.0
    prior_components: int = 0
    particle_output: str = "frame"
    chamfer_space: str = "angular"
    chamfer_energy_weight: float = 4.0
    consistency_mass_weight: float = 1.0
    loss_weights: dict[str, float] = field(
        default_factory=lambda: {
            "chamfer": 300.0,  # angular Chamfer values are ~1e-2: keep the term visible
            "eec": 10.0,
            "jet": 1.0,
            "consistency": 1.0,
            "kl": 1.0,
            "multiplicity": 0.1,
            "existence": 1.0,
        }
    )
    norm: JetFeatureNorm = field(default_factory=JetFeatureNorm)

    def __post_init__(self) -> None:
        for name, kind in (("encoder", ParticleLGATrConfig), ("decoder", ParticleLGATrConfig)):
            setattr(self, name, kind.cast(getattr(self, name)))
        if isinstance(self.norm, dict):
            self.norm = JetFeatureNorm(**self.norm)
        if self.chamfer_space not in CHAMFER_SPACES:
            msg = f"chamfer_space must be one of {CHAMFER_SPACES}, got {self.chamfer_space!r}"
            raise ValueError(msg)
        if self.particle_output not in PARTICLE_OUTPUTS:
            msg = f"particle_output must be one of {PARTICLE_OUTPUTS}, got {self.particle_output!r}"
            raise ValueError(msg)
        unknown = set(self.loss_weights) - set(LOSS_TERMS)
        if unknown:
            msg = f"unknown loss_weights keys {sorted(unknown)}; expected {LOSS_TERMS}"
            raise ValueError(msg)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> HyperVAEConfig:
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            msg = f"unknown HyperVAEConfig keys: {sorted(unknown)}"
            raise ValueError(msg)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = json.loads(json.dumps(asdict(self)))
        return out


class HyperVAE(nn.Module):
    """Lorentz-equivariant hypergraph variational autoencoder for jets.

    Shapes:
        encode: a PyG batch with ``x [n, 4]``, ``batch [n]``, ``jet_type [B]`` and
        optionally ``edge_index [2, M]``, ``edge_attr [M, edge_features]``,
        ``hyperedge_index [2, I]`` (particle, hyperedge), ``hyperedge_attr [K, F]``;
        returns ``mu, logvar [B, latent_dim]``.
        decode: ``z [B, latent_dim]``, ``jet_type [B]`` -> dict of ``p4 [B, P, 4]``,
        ``exist_logits [B, P]``, ``mult_logits [B, P]``, ``jet [B, 3]``.

    Examples:
        >>> model = HyperVAE(HyperVAEConfig(max_particles=6, latent_dim=4, hidden=16))
        >>> jets = model.sample(3, jet_type="t", seed=0)
        >>> len(jets), bool(ak.all(jets.jet_type == 2))
        (3, True)
    """

    norm_mean: Tensor
    norm_std: Tensor

    def __init__(self, config: HyperVAEConfig | dict[str, Any] | None = None) -> None:
        super().__init__()
        cfg = (
            config if isinstance(config, HyperVAEConfig) else HyperVAEConfig.from_dict(config or {})
        )
        self.config = cfg
        h = cfg.hidden
        self.encoder_lgatr = ParticleLGATr(1, 1, 0, h, cfg.encoder)  # invariant outputs only
        self.edge_mlp = ResidualMLP(cfg.edge_features, h) if cfg.use_edges else None
        self.hyperedge_mlp = ResidualMLP(cfg.hyperedge_features, h) if cfg.use_hyperedges else None
        self.fusion = (
            IncidenceCrossAttention(h, cfg.num_heads)
            if (cfg.use_edges or cfg.use_hyperedges)
            else None
        )
        self.type_embedding = nn.Embedding(len(JET_TYPES), h)
        # pooled particles (mean, max), type embedding and the normalised jet features:
        # the frame-particles carry m/pT but not the jet's pT and eta, which the jet head
        # must reproduce from z
        self.to_latent = nn.Sequential(
            nn.Linear(3 * h + 3, h), nn.GELU(), nn.Linear(h, 2 * cfg.latent_dim)
        )
        self.condition = nn.Sequential(nn.Linear(cfg.latent_dim + h, h), nn.GELU(), nn.Linear(h, h))
        self.jet_head = nn.Linear(h, 3)
        self.mult_head = nn.Linear(h, cfg.max_particles)
        self.slot_embedding = nn.Parameter(torch.randn(cfg.max_particles, h) * 0.1)
        # vector inputs: the jet 4-momentum and the 4 basis vectors of the jet frame
        # scalar outputs: the existence logit, and for "frame" output (log k, u, v)
        frame = cfg.particle_output == "frame"
        self.decoder_lgatr = ParticleLGATr(5, h, 0 if frame else 1, 4 if frame else 1, cfg.decoder)
        # learned prior (ex-post density estimation): the standard normal until fitted
        self.prior = (
            GaussianMixturePrior(len(JET_TYPES), cfg.prior_components, cfg.latent_dim)
            if cfg.prior_components > 0
            else None
        )
        # built from plain floats so a model and its reloaded copy hold identical values
        self.register_buffer(
            "norm_mean", torch.tensor([float(v) for v in cfg.norm.mean]), persistent=False
        )
        self.register_buffer(
            "norm_std", torch.tensor([float(v) for v in cfg.norm.std]), persistent=False
        )

    # ------------------------------------------------------------------ encoder
    def encode(self, data: Any) -> tuple[Tensor, Tensor]:
        """Latent mean and clamped log-variance of a batch of jet hypergraphs."""
        x, batch = data.x, data.batch
        counts = torch.bincount(batch, minlength=1)
        if int(counts.max()) > self.config.max_particles:
            bad = int(torch.argmax((counts > self.config.max_particles).to(torch.int8)))
            msg = (
                f"jet {bad} of the batch has {int(counts[bad])} particles, more than the "
                f"model's max_particles={self.config.max_particles}; refused (truncate the "
                "input, e.g. HypergraphConfig(max_particles=...), or check_jets(..., "
                "overflow='truncate'))"
            )
            raise ValueError(msg)
        dense, mask = to_dense_batch(x, batch, max_num_nodes=self.config.max_particles)
        ones = torch.ones(*dense.shape[:2], 1, dtype=dense.dtype, device=dense.device)
        _, s = self.encoder_lgatr(dense[:, :, None, :], ones, mask)
        h = s[mask]  # [n, hidden], invariant particle embeddings
        if self.fusion is not None:
            tokens, incidence = [], []
            offset = 0
            if self.edge_mlp is not None and getattr(data, "edge_attr", None) is not None:
                e = self.edge_mlp(data.edge_attr.to(h.dtype))
                tokens.append(e)
                ids = torch.arange(e.shape[0], device=h.device)
                incidence.append(torch.stack([data.edge_index[0], ids]))
                offset += e.shape[0]
            if self.hyperedge_mlp is not None and getattr(data, "hyperedge_attr", None) is not None:
                k = self.hyperedge_mlp(data.hyperedge_attr.to(h.dtype))
                tokens.append(k)
                inc = data.hyperedge_index
                incidence.append(torch.stack([inc[0], inc[1] + offset]))
            if tokens:
                h = self.fusion(h, torch.cat(tokens), torch.cat(incidence, 1))
        mean = scatter(h, batch, dim=0, dim_size=mask.shape[0], reduce="mean")
        maxed = scatter(h, batch, dim=0, dim_size=mask.shape[0], reduce="max")
        codes, jet = jet_info(data)
        t = self.type_embedding(codes)
        jet = self.normalize(jet.to(h.dtype))
        mu, logvar = self.to_latent(torch.cat([mean, maxed, t, jet], -1)).chunk(2, -1)
        return mu, logvar.clamp(self.config.logvar_min, self.config.logvar_max)

    # ------------------------------------------------------------------ decoder
    def decode(
        self,
        z: Tensor,
        jet_type: Tensor,
        jet_vector: Tensor | None = None,
        basis: Tensor | None = None,
    ) -> dict[str, Tensor]:
        """Decodes latent codes into particles in the jet frame.

        Arguments:
            z: Latent codes ``[B, latent_dim]``.
            jet_type: Type codes ``[B]``.
            jet_vector: Jet 4-momentum in frame units ``[B, 4]``; the jet head's by default.
            basis: The frame's basis vectors ``[B, 4, 4]`` (rows ``e_t, e_x, e_y, e_z``),
                the identity by default. An equivariant decoder fed only ``J`` could emit
                nothing but multiples of ``J``; the basis gives it the reference
                directions, and transforming ``J`` and the basis together by a Lorentz
                transformation transforms every output 4-vector by it.
        """
        c = self.condition(torch.cat([z, self.type_embedding(jet_type.long())], -1))
        jet = self.jet_head(c)
        if jet_vector is None:
            jet_vector = self.frame_jet_vector(self.denormalize(jet))
        cfg = self.config
        if basis is None:
            basis = torch.eye(4, dtype=z.dtype, device=z.device).expand(z.shape[0], 4, 4)
        slots = c[:, None, :] + self.slot_embedding[None]
        refs = torch.cat([jet_vector[:, None, :].to(z.dtype), basis.to(z.dtype)], 1)  # [B, 5, 4]
        vectors = refs[:, None].expand(-1, cfg.max_particles, 5, 4)
        mask = torch.ones(z.shape[0], cfg.max_particles, dtype=torch.bool, device=z.device)
        v, s = self.decoder_lgatr(vectors, slots, mask)
        if cfg.particle_output == "frame":
            p4 = _frame_particles(s[..., 1:4], basis.to(z.dtype))
        else:
            p4 = v[:, :, 0, :]
        return {
            "p4": p4,
            "exist_logits": s[..., 0],
            "mult_logits": self.mult_head(c),
            "jet": jet,
        }

    def chamfer_features(self, p4: Tensor) -> Tensor:
        """Per-particle coordinates of the Chamfer loss (``config.chamfer_space``).

        In the jet frame (jet along +x, scale pT) momenta of soft particles at wide angles
        differ from collinear ones by little in ``(E, px, py, pz)``; ``"angular"``
        compares the energy share and the direction ``(p_y, p_z)/|p|`` instead.
        """
        if self.config.chamfer_space == "momentum":
            return p4
        norm = torch.sqrt((p4[..., 1:] ** 2).sum(-1) + 1e-12)
        return torch.stack([p4[..., 0], p4[..., 2] / norm, p4[..., 3] / norm], -1)

    def denormalize(self, jet: Tensor) -> Tensor:
        """``(pT, eta, mass)`` in GeV from normalised head outputs."""
        raw = jet * self.norm_std.to(jet.dtype) + self.norm_mean.to(jet.dtype)
        return torch.stack([raw[:, 0].exp(), raw[:, 1], raw[:, 2].exp()], -1)

    def normalize(self, jet: Tensor) -> Tensor:
        """Inverse of :meth:`denormalize`."""
        raw = torch.stack([jet[:, 0].log(), jet[:, 1], jet[:, 2].clamp(min=1e-3).log()], -1)
        return (raw - self.norm_mean.to(jet.dtype)) / self.norm_std.to(jet.dtype)

    @staticmethod
    def frame_jet_vector(jet: Tensor) -> Tensor:
        """Jet 4-momentum in the canonical frame (scale = jet pT): ``(sqrt(1 + r^2), 1, 0, 0)``."""
        r = jet[:, 2] / jet[:, 0]
        zeros = torch.zeros_like(r)
        return torch.stack([torch.sqrt(1 + r**2), torch.ones_like(r), zeros, zeros], -1)

    # ------------------------------------------------------------------ training
    def forward(self, data: Any, tau: float = 1.0, latent_noise: float = 0.0) -> dict[str, Tensor]:
        """Encodes, samples ``z`` with the reparameterisation trick and decodes.

        ``latent_noise`` is the standard deviation of extra Gaussian noise added to ``z``
        (a training-time regulariser; 0 draws nothing).
        """
        mu, logvar = self.encode(data)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        if latent_noise > 0:
            z = z + latent_noise * torch.randn_like(z)
        jet_type, target_jet = jet_info(data)
        out = self.decode(z, jet_type, self.frame_jet_vector(target_jet.to(z.dtype)))
        out["exist_soft"] = _binary_gumbel(out["exist_logits"], tau)
        return {**out, "mu": mu, "logvar": logvar}

    def compute_loss(
        self, data: Any, tau: float = 1.0, kl_weight: float = 1.0, latent_noise: float = 0.0
    ) -> dict[str, Tensor]:
        """Named loss terms, their weighted sum ``"total"`` and diagnostics."""
        cfg = self.config
        out = self(data, tau, latent_noise)
        x, mask = to_dense_batch(
            data.x.to(out["p4"].dtype), data.batch, max_num_nodes=cfg.max_particles
        )
        if x.shape[1] < cfg.max_particles:
            pad = cfg.max_particles - x.shape[1]
            x = torch.nn.functional.pad(x, (0, 0, 0, pad))
            mask = torch.nn.functional.pad(mask, (0, pad))
        n = mask.sum(1)
        slots = torch.arange(cfg.max_particles, device=x.device)[None, :] < n[:, None]
        target_jet = jet_info(data)[1].to(x.dtype)
        slot_mask = slots[..., None].to(x.dtype)
        summed = (slot_mask * out["p4"]).sum(1)
        target_sum = (mask[..., None].to(x.dtype) * x).sum(1)
        expected_n = out["exist_soft"].sum(1)  # straight-through Gumbel: reaches the logits
        terms = {
            "chamfer": chamfer_distance(
                self.chamfer_features(out["p4"]),
                self.chamfer_features(x),
                slots,
                mask,
                w_energy=cfg.chamfer_energy_weight if cfg.chamfer_space == "angular" else 1.0,
            ),
            "eec": eec_distribution_loss((out["p4"], slots), (x, mask), n=2),
            "jet": jet_feature_loss(out["jet"], self.normalize(target_jet)),
            "consistency": ((summed - target_sum) ** 2).sum(-1).mean()
            + cfg.consistency_mass_weight
            * ((_log_mass(summed) - _log_mass(target_sum)) ** 2).mean(),
            "kl": kl_divergence(out["mu"], out["logvar"], cfg.free_bits),
            "multiplicity": nn.functional.cross_entropy(out["mult_logits"], (n - 1).clamp(min=0)),
            "existence": nn.functional.binary_cross_entropy_with_logits(
                out["exist_logits"], slots.to(x.dtype)
            )
            + (((expected_n - n) / cfg.max_particles) ** 2).mean(),
        }
        weights = dict(cfg.loss_weights)
        weights["kl"] = weights.get("kl", 1.0) * kl_weight
        total = sum(weights.get(k, 1.0) * v for k, v in terms.items())
        return {**terms, "total": total}

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def sample(
        self,
        n: int,
        jet_type: str | int | dict[str, float] | None = "g",
        temperature: float = 1.0,
        seed: int | None = None,
        batch_size: int = 4096,
        prior: str = "learned",
        head: bool = False,
    ) -> ak.Array:
        """Generates ``n`` jets in physical units (GeV) as an awkward jets array.

        Arguments:
            n: Number of jets.
            jet_type: One type, ``None`` (uniform over types) or a dict of fractions.
            temperature: Scale of the latent prior's standard deviation.
            seed: Seed of a private random generator (the global state is untouched).
            batch_size: Jets decoded at once.
            prior: ``"learned"`` draws latent codes from the fitted mixture prior
                (:meth:`fit_prior`; the standard normal where none is fitted), ``"normal"``
                from the standard normal.
            head: Also return the jet head's ``head_pt``, ``head_eta``, ``head_mass``
                (GeV), which set the frame the particles were decoded in; the jet's own
                ``pt``, ``eta``, ``mass`` are always the sums of its particles.

        Returns:
            Jets as :func:`hypervae.datasets.make_jets` builds them, particles sorted by pT.
        """
        param = next(self.parameters())
        device, dtype = param.device, param.dtype
        gen = torch.Generator(device="cpu")
        gen.manual_seed(int(seed) if seed is not None else int(torch.randint(0, 2**62, (1,))))
        if prior not in ("learned", "normal"):
            msg = f"prior must be 'learned' or 'normal', got {prior!r}"
            raise ValueError(msg)
        codes = _draw_types(n, jet_type, gen)
        was_training = self.training
        self.eval()
        parts, types, kept, heads = [], [], [], []
        try:
            for lo in range(0, n, batch_size):
                t = codes[lo : lo + batch_size]
                if prior == "learned" and self.prior is not None and bool(self.prior.fitted.any()):
                    z = self.prior.sample(t, gen).double()
                    # temperature scales the spread around the mixture's component means
                    z = z if temperature == 1.0 else _temper(self.prior, z, t, temperature)
                else:
                    z = torch.randn(len(t), self.config.latent_dim, generator=gen) * temperature
                out = self.decode(z.to(device, dtype), t.to(device))
                jet = self.denormalize(out["jet"]).cpu().double()
                probs = out["mult_logits"].softmax(-1).cpu().double()
                mult = torch.multinomial(probs, 1, generator=gen)[:, 0] + 1
                order = out["exist_logits"].cpu().argsort(-1, descending=True)
                rank = order.argsort(-1)
                mask = rank < mult[:, None]
                phi = (torch.rand(len(t), generator=gen, dtype=torch.float64) * 2 - 1) * torch.pi
                pt, eta, mass = jet.unbind(-1)
                mt = torch.sqrt(pt**2 + mass**2)
                rap = torch.asinh(pt * torch.sinh(eta) / mt)
                frame = JetFrame(rapidity=rap.numpy(), phi=phi.numpy(), scale=pt.numpy())
                p4 = from_jet_frame(out["p4"].cpu().double().numpy(), mask.numpy(), frame)
                parts.append((p4, mask.numpy()))
                types.append(t.numpy())
                kept.append(mult.numpy())
                heads.append(jet.numpy())
        finally:
            self.train(was_training)
        p4 = np.concatenate([p for p, _ in parts])
        masks = np.concatenate([m for _, m in parts])
        particles = from_padded(p4, masks)
        particles = particles[ak.argsort(particles.pt, axis=1, ascending=False)]
        jets = make_jets(particles, np.concatenate(types))
        if head:
            values = np.concatenate(heads)
            for k, name in enumerate(("head_pt", "head_eta", "head_mass")):
                jets = ak.with_field(jets, values[:, k], name)
        return jets

    @torch.no_grad()
    def fit_prior(
        self,
        loader: Any,
        draws: int = 4,
        iterations: int = 200,
        seed: int = 0,
    ) -> GaussianMixturePrior:
        """Fits the learned prior to the aggregate posterior of the jets in ``loader``.

        Arguments:
            loader: Iterable of hypergraph batches (use the training split).
            draws: Posterior draws ``z ~ q(z|x)`` per jet.
            iterations: EM iterations (see :meth:`GaussianMixturePrior.fit`).
            seed: Seed of the draws and of the initialisation.
        """
        if self.prior is None:
            msg = "this model has no learned prior: build it with prior_components > 0"
            raise ValueError(msg)
        gen = torch.Generator().manual_seed(seed)
        was_training = self.training
        self.eval()
        zs, types = [], []
        try:
            for batch in loader:
                mu, logvar = self.encode(batch.to(next(self.parameters()).device))
                mu, std = mu.cpu().double(), (0.5 * logvar).exp().cpu().double()
                t = jet_info(batch)[0].cpu()
                for _ in range(draws):
                    eps = torch.randn(mu.shape, generator=gen, dtype=torch.float64)
                    zs.append(mu + std * eps)
                    types.append(t)
        finally:
            self.train(was_training)
        self.prior.fit(torch.cat(zs), torch.cat(types), iterations=iterations, seed=seed)
        return self.prior

    # ------------------------------------------------------------------ I/O
    def save_pretrained(self, directory: str | os.PathLike[str]) -> Path:
        """Writes ``config.json`` and ``model.safetensors`` (atomically) into ``directory``."""
        from safetensors.torch import save_file

        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        _atomic(path / "model.safetensors", lambda p: save_file(state, str(p)))
        text = json.dumps(self.config.to_dict(), indent=2, sort_keys=True) + "\n"
        _atomic(path / "config.json", lambda p: p.write_text(text))
        return path

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike[str], device: str = "cpu") -> HyperVAE:
        """Loads a model saved by :meth:`save_pretrained` or shipped under ``name``.

        Strict: missing or unexpected weights are an error. Never unpickles.
        """
        from safetensors.torch import load_file

        path = Path(name_or_path)
        if not path.is_dir():
            shipped = resources.files("hypervae").joinpath("pretrained").joinpath(str(name_or_path))
            if not shipped.is_dir():
                msg = f"no model directory {str(name_or_path)!r} and no shipped model of that name"
                raise FileNotFoundError(msg)
            path = Path(str(shipped))
        for file in ("config.json", "model.safetensors"):
            if not (path / file).is_file():
                msg = (
                    f"{path}: no {file} (a model directory holds config.json and model.safetensors)"
                )
                raise FileNotFoundError(msg)
        try:
            values = json.loads((path / "config.json").read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            msg = f"{path / 'config.json'}: not valid JSON ({error})"
            raise ValueError(msg) from None
        if not isinstance(values, dict):
            msg = f"{path / 'config.json'}: expected a JSON object, got {type(values).__name__}"
            raise ValueError(msg)  # noqa: TRY004 - a bad file's content, not a bad argument
        try:
            config = HyperVAEConfig.from_dict(values)
        except (TypeError, ValueError) as error:
            msg = f"{path / 'config.json'}: {error}"
            raise ValueError(msg) from None
        model = cls(config)
        try:
            state = load_file(str(path / "model.safetensors"), device=device)
        except Exception as error:  # noqa: BLE001 - safetensors raises its own error types
            msg = (
                f"{path / 'model.safetensors'} is truncated or corrupted and cannot be read "
                f"({type(error).__name__}: {error})"
            )
            raise ValueError(msg) from None
        dtypes = {v.dtype for v in state.values() if v.is_floating_point()}
        if len(dtypes) == 1:  # keep the precision the weights were saved in
            model = model.to(dtypes.pop())
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as error:
            msg = f"{path}: model.safetensors does not match config.json: {error}"
            raise ValueError(msg) from None
        return model.to(device).eval()


def jet_info(data: Any) -> tuple[Tensor, Tensor]:
    """Jet types ``[B]`` and ``(pT, eta, mass)`` in GeV ``[B, 3]`` of a batch.

    Read from ``jet_type`` and ``jet_features`` when present, else from the hypergraph
    target ``y = (type, ln pT, eta, ln mass)`` in physical units (not standardised).
    """
    if (
        getattr(data, "jet_type", None) is not None
        and getattr(data, "jet_features", None) is not None
    ):
        return data.jet_type.long().view(-1), data.jet_features.view(-1, 3)
    y = data.y.view(-1, 4)
    return y[:, 0].long(), torch.stack([y[:, 1].exp(), y[:, 2], y[:, 3].exp()], -1)


def _atomic(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _log_mass(p4: Tensor) -> Tensor:
    """``ln m`` of 4-vectors ``[..., 4]`` (m^2 floored at 1e-8 in frame units)."""
    m2 = p4[..., 0] ** 2 - (p4[..., 1:] ** 2).sum(-1)
    return 0.5 * torch.log(m2.clamp(min=1e-8))


def _frame_particles(coords: Tensor, basis: Tensor) -> Tensor:
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


def _temper(prior: GaussianMixturePrior, z: Tensor, t: Tensor, temperature: float) -> Tensor:
    """Shrinks (or widens) each code's distance to the nearest component mean."""
    means = prior.means.detach().cpu().double()[t]  # [B, K, D]
    nearest = (z[:, None, :] - means).pow(2).sum(-1).argmin(-1)
    centre = means[torch.arange(len(t)), nearest]
    return centre + temperature * (z - centre)


def _binary_gumbel(logits: Tensor, tau: float) -> Tensor:
    """Straight-through binary Gumbel-softmax (hard 0/1 forward, soft gradient)."""
    u = torch.rand_like(logits).clamp(1e-6, 1 - 1e-6)
    soft = torch.sigmoid((logits + torch.log(u) - torch.log1p(-u)) / tau)
    hard = (soft > 0.5).to(soft.dtype)
    return hard + soft - soft.detach()


def _draw_types(n: int, jet_type: Any, gen: torch.Generator) -> Tensor:
    if isinstance(jet_type, dict):
        names = list(jet_type)
        probs = torch.tensor([float(jet_type[k]) for k in names], dtype=torch.float64)
        if probs.sum() <= 0 or (probs < 0).any():
            msg = f"jet_type fractions must be non-negative and not all zero, got {jet_type}"
            raise ValueError(msg)
        codes = torch.tensor([jet_type_code(k) for k in names])
        return codes[torch.multinomial(probs / probs.sum(), n, replacement=True, generator=gen)]
    if jet_type is None:
        return torch.randint(0, len(JET_TYPES), (n,), generator=gen)
    return torch.full((n,), jet_type_code(jet_type), dtype=torch.long)

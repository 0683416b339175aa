r"""The network of :class:`HyperVAE`: encoder, shared decoder heads, particle decoder.

**Encoder.** Particles (4-momenta in the canonical jet frame, one scale per jet) go
through a Lorentz-equivariant L-GATr (:class:`~hypervae.nn.ParticleLGATr`), whose
invariant scalar outputs are the particle embeddings. Edge and hyperedge features go
through residual MLPs; each particle then attends to its incident edges and hyperedges
(:class:`~hypervae.nn.IncidenceCrossAttention`). Mean and max pooling give the jet
embedding; with the type embedding and the normalised jet features (log pT, eta, log
mass: the frame removes pT and eta from the particles) an MLP maps it to the latent mean
and the clamped log-variance (:class:`~hypervae.model.Posterior`).

**Decoder.** The latent code and a jet-type embedding form the condition of two shared
heads, jet features (log pT, eta, log mass, normalised) and a categorical multiplicity
over ``1..max_particles``. The particle decoder (:attr:`HyperVAE.particle_decoder`) is
chosen by ``config.decoder``: ``"flow"`` (the default,
:class:`~hypervae.model.flow.FlowParticleDecoder`: flow matching conditioned on the
latent code, the type and the multiplicity; stochastic) or ``"slots"``
(:class:`~hypervae.model.slots.SlotDecoder`: deterministic slots from the condition, the
jet 4-momentum in the canonical frame :math:`J = (\sqrt{1 + m^2/p_T^2}, 1, 0, 0)` and
the frame's basis).

**Prior.** With ``prior_components > 0`` the model holds a per-type Gaussian mixture
(:class:`~hypervae.nn.GaussianMixturePrior`), the standard normal until
:meth:`HyperVAE.fit_prior` fits it to the aggregate posterior of the training jets.

The loss (:mod:`hypervae.model.objective`), generation (:mod:`hypervae.model.generation`),
prior fitting (:mod:`hypervae.model.prior`) and I/O (:mod:`hypervae.model.pretrained`)
live in their own modules; the methods here delegate to them.

References:
    | Kingma, Welling, Auto-Encoding Variational Bayes (2013) https://arxiv.org/abs/1312.6114
    | Ghosh et al., From Variational to Deterministic Autoencoders (2020)
    | https://arxiv.org/abs/1903.12436
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn
from torch_geometric.utils import scatter

from ..datasets.jets import JET_TYPES
from ..graph.batch import JetBatch
from ..nn.fusion import IncidenceCrossAttention
from ..nn.lgatr import ParticleLGATr
from ..nn.mlp import ResidualMLP
from ..nn.prior import GaussianMixturePrior
from .config import HyperVAEConfig
from .flow import FlowParticleDecoder
from .outputs import Decoded, Posterior
from .slots import ParticleDecoder, SlotDecoder, chamfer_features, rename_legacy_keys

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    import awkward as ak

    from ..graph.config import HypergraphConfig
    from ..graph.normalization import GraphNormalization

__all__ = ["HyperVAE", "jet_info"]


def jet_info(data: Any) -> tuple[Tensor, Tensor]:
    """Jet types ``[B]`` and ``(pT, eta, mass)`` in GeV ``[B, 3]`` of a batch.

    Read by :meth:`hypervae.graph.batch.JetBatch.jet_info`: from ``jet_type`` and
    ``jet_features`` when present, else from the hypergraph target ``y``.
    """
    return JetBatch.jet_info(data)


class HyperVAE(nn.Module):
    """Lorentz-equivariant hypergraph variational autoencoder for jets.

    Arguments:
        config: A :class:`HyperVAEConfig`, a dict of its fields, or None (defaults).

    Shapes:
        encode: a batch (PyG or :class:`~hypervae.graph.batch.JetBatch`) with ``x [n, 4]``,
        ``batch [n]``, the jet target ``y [B, 4]`` (or ``jet_type [B]`` and
        ``jet_features [B, 3]``) and optionally edges and hyperedges; returns a
        :class:`~hypervae.model.Posterior` with ``mu, logvar [B, latent_dim]``.
        decode: ``z [B, latent_dim]``, ``jet_type [B]`` -> :class:`~hypervae.model.Decoded`.

    Examples:
        >>> model = HyperVAE(HyperVAEConfig(max_particles=6, latent_dim=4, hidden=16))
        >>> jets = model.sample(3, jet_type="t", seed=0)
        >>> len(jets), jets.jet_type.tolist()
        (3, [2, 2, 2])
    """

    norm_mean: Tensor
    norm_std: Tensor
    #: The graph settings of the training run (set by from_pretrained from run.json).
    graph_config: HypergraphConfig | None = None
    #: The edge standardisation of the training run (from normalization.json).
    edge_normalization: GraphNormalization | None = None

    def __init__(self, config: HyperVAEConfig | dict[str, Any] | None = None) -> None:
        super().__init__()
        cfg = HyperVAEConfig.coerce(config)
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
        #: The particle decoder: ``forward``/``loss``/``sample`` (see hypervae.model.slots):
        #: the flow-matching one (``decoder="flow"``) or the slots (``decoder="slots"``).
        self.particle_decoder: ParticleDecoder = (
            FlowParticleDecoder(cfg) if cfg.decoder == "flow" else SlotDecoder(cfg)
        )
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
        self.register_load_state_dict_pre_hook(rename_legacy_keys)  # type: ignore[no-untyped-call]

    # ------------------------------------------------------------------ encoder
    def encode(self, batch: Any) -> Posterior:
        """Latent mean and clamped log-variance of a batch of jet hypergraphs.

        Raises:
            ValueError: A jet with more than ``max_particles`` particles, or a NaN or
                infinite input (names the field and the jet).
        """
        jb = JetBatch.from_data(batch)
        jb.check_finite()
        dtype = self.jet_head.weight.dtype  # inputs are cast to the model's precision
        dense, mask = jb.to_dense(self.config.max_particles, dtype=dtype)
        ones = torch.ones(*dense.shape[:2], 1, dtype=dense.dtype, device=dense.device)
        _, s = self.encoder_lgatr(dense[:, :, None, :], ones, mask)
        h = s[mask]  # [n, hidden], invariant particle embeddings
        if self.fusion is not None:
            h = self._fuse(h, jb)
        size = mask.shape[0]
        mean = scatter(h, jb.batch, dim=0, dim_size=size, reduce="mean")
        maxed = scatter(h, jb.batch, dim=0, dim_size=size, reduce="max")
        t = self.type_embedding(jb.jet_type)
        jet = self.normalize(jb.jet_features.to(h.dtype))
        mu, logvar = self.to_latent(torch.cat([mean, maxed, t, jet], -1)).chunk(2, -1)
        return Posterior(mu, logvar.clamp(self.config.logvar_min, self.config.logvar_max))

    def _fuse(self, h: Tensor, jb: JetBatch) -> Tensor:
        assert self.fusion is not None
        tokens, incidence = [], []
        offset = 0
        if self.edge_mlp is not None and jb.edge_attr is not None and jb.edge_index is not None:
            e = self.edge_mlp(jb.edge_attr.to(h.dtype))
            tokens.append(e)
            ids = torch.arange(e.shape[0], device=h.device)
            incidence.append(torch.stack([jb.edge_index[0], ids]))
            offset += e.shape[0]
        hyper, index = jb.hyperedge_attr, jb.hyperedge_index
        if self.hyperedge_mlp is not None and hyper is not None and index is not None:
            k = self.hyperedge_mlp(hyper.to(h.dtype))
            tokens.append(k)
            incidence.append(torch.stack([index[0], index[1] + offset]))
        if not tokens:
            return h
        fused: Tensor = self.fusion(h, torch.cat(tokens), torch.cat(incidence, 1))
        return fused

    # ------------------------------------------------------------------ decoder
    def decode(
        self,
        z: Tensor,
        jet_type: Tensor,
        jet_vector: Tensor | None = None,
        basis: Tensor | None = None,
    ) -> Decoded:
        """Decodes latent codes into jet features, multiplicity logits and particles.

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
        if basis is None:
            basis = torch.eye(4, dtype=z.dtype, device=z.device).expand(z.shape[0], 4, 4)
        jet_vector, basis = jet_vector.to(z.dtype), basis.to(z.dtype)
        p4, exist = self.particle_decoder(c, jet_vector, basis)
        return Decoded(
            jet=jet,
            mult_logits=self.mult_head(c),
            condition=c,
            jet_vector=jet_vector,
            basis=basis,
            p4=p4,
            exist_logits=exist,
            z=z,
            jet_type=jet_type,
        )

    def chamfer_features(self, p4: Tensor) -> Tensor:
        """Per-particle coordinates of the Chamfer loss (``config.chamfer_space``)."""
        return chamfer_features(p4, self.config.chamfer_space)

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

        Returns the decoded tensors by name plus ``mu``, ``logvar`` and, for the slot
        decoder, ``exist_soft`` (straight-through Gumbel existence at ``tau``).
        ``latent_noise`` is the standard deviation of extra Gaussian noise added to ``z``.
        """
        from ..losses import binary_gumbel
        from .objective import posterior_sample

        jb = JetBatch.from_data(data)
        post = self.encode(jb)
        z = posterior_sample(post, latent_noise)
        dec = self.decode(z, jb.jet_type, self.frame_jet_vector(jb.jet_features.to(z.dtype)))
        skip = ("z", "jet_type")
        out = {k: v for k, v in vars(dec).items() if v is not None and k not in skip}
        if dec.exist_logits is not None:
            out["exist_soft"] = binary_gumbel(dec.exist_logits, tau)
        return {**out, "mu": post.mu, "logvar": post.logvar}

    def compute_loss(
        self, data: Any, tau: float = 1.0, kl_weight: float = 1.0, latent_noise: float = 0.0
    ) -> dict[str, Tensor]:
        """Named loss terms, their weighted sum ``"total"`` (see :mod:`hypervae.model.objective`)."""
        from .objective import compute_loss

        return compute_loss(self, data, tau=tau, kl_weight=kl_weight, latent_noise=latent_noise)

    # ------------------------------------------------------------------ generation
    def sample(
        self,
        n_jets: int | None = None,
        jet_type: str | int | dict[str, float] | None = "g",
        temperature: float = 1.0,
        seed: int | None = None,
        batch_size: int = 4096,
        prior: str = "learned",
        head: bool = False,
        steps: int | None = None,
        solver: str | None = None,
        **deprecated: Any,
    ) -> ak.Array:
        """Generates ``n_jets`` jets in physical units (GeV) as an awkward jets array.

        The same ``seed`` gives the same jets whatever ``batch_size``; the global RNGs
        are untouched. ``steps``/``solver``: ODE settings of the flow decoder (its
        config's by default; the slot decoder refuses them). See
        :func:`hypervae.model.generation.sample` for every argument. ``n=`` is the
        deprecated name of ``n_jets``.
        """
        from .generation import sample

        n_jets = _deprecated_n(n_jets, deprecated)
        return sample(
            self, n_jets, jet_type, temperature, seed, batch_size, prior, head, steps, solver
        )

    def iter_sample(
        self,
        n_jets: int,
        jet_type: str | int | dict[str, float] | None = "g",
        temperature: float = 1.0,
        seed: int | None = None,
        batch_size: int = 4096,
        prior: str = "learned",
        head: bool = False,
        chunk_size: int = 65536,
        steps: int | None = None,
        solver: str | None = None,
    ) -> Iterator[ak.Array]:
        """The jets of :meth:`sample` in chunks of ``chunk_size`` (bounded memory).

        Concatenated, the chunks are exactly ``sample(...)`` with the same arguments.
        """
        from .generation import iter_sample

        return iter_sample(
            self, n_jets, jet_type, temperature, seed, batch_size, prior, head, chunk_size,
            steps, solver,
        )  # fmt: skip

    def reconstruct(
        self,
        jets: ak.Array,
        graph_config: HypergraphConfig | dict[str, Any] | None = None,
        normalization: GraphNormalization | None = None,
        batch_size: int = 256,
        seed: int = 0,
    ) -> ak.Array:
        """Encodes and decodes jets (awkward jets in GeV in and out, same order and types);
        see :func:`hypervae.model.reconstruction.reconstruct`."""
        from .reconstruction import reconstruct

        return reconstruct(self, jets, graph_config, normalization, batch_size, seed)

    def fit_prior(
        self, loader: Iterable[Any], draws: int = 4, iterations: int = 200, seed: int = 0
    ) -> GaussianMixturePrior:
        """Fits the learned prior; see :func:`hypervae.model.prior.fit_prior`."""
        from .prior import fit_prior

        return fit_prior(self, loader, draws=draws, iterations=iterations, seed=seed)

    # ------------------------------------------------------------------ I/O
    def save_pretrained(self, directory: str | os.PathLike[str]) -> Path:
        """Writes ``config.json`` and ``model.safetensors`` (atomically) into ``directory``."""
        from .pretrained import save_pretrained

        return save_pretrained(self, directory)

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike[str], device: str = "cpu") -> HyperVAE:
        """Loads a model saved by :meth:`save_pretrained` or shipped under ``name``;
        see :func:`hypervae.model.pretrained.from_pretrained`."""
        from .pretrained import from_pretrained

        return from_pretrained(name_or_path, device=device, cls=cls)


def _deprecated_n(n_jets: Any, deprecated: dict[str, Any]) -> Any:
    if "n" in deprecated:
        warnings.warn(
            "sample(n=...) is deprecated; use sample(n_jets=...)", DeprecationWarning, stacklevel=3
        )
        if n_jets is not None:
            msg = "sample: give n_jets only (n is its deprecated name)"
            raise TypeError(msg)
        n_jets = deprecated.pop("n")
    if deprecated:
        msg = f"sample() got unexpected keyword arguments {sorted(deprecated)}"
        raise TypeError(msg)
    if n_jets is None:
        msg = "sample: n_jets is required (an int >= 1)"
        raise TypeError(msg)
    return n_jets

r"""Jet-free Particle Transformer: one padded particle stream, pair-biased attention.

The model follows the Particle Transformer (ParT) design: per-particle features
(:func:`~hypervae.taggers.features.particle_features`) are embedded by an MLP; the
pairwise features :math:`(\ln\Delta, \ln k_T, \ln z, \ln m^2)` of
:func:`hypervae.physics.pairwise_features_torch` are embedded per pair into one additive
attention bias per head; a stack of self-attention blocks is followed by class-attention
blocks and a linear readout. There are no positional encodings, so the logits are
invariant under permutations of the particles, and padded particles are ignored exactly.
"Jet-free" means nothing inside the model depends on a jet clustering: the stream can be
the constituents of one jet or all particles of an event.

Deviations from the reference implementation, chosen so that padding is exactly
ignored: BatchNorm on inputs is replaced by the fixed ParT standardisation (particles) and
a fixed affine map to O(1) ranges followed by a learnable per-feature affine (pairs).

References:
    | Particle Transformer for Jet Tagging (Qu, Li, Qian, 2022)
    | https://arxiv.org/abs/2202.03772
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from .._config import Config, bounded
from ..nn.attention_block import AttentionBlock
from ..nn.class_attention import ClassAttentionBlock
from ..nn.pair_embedding import PAIR_STANDARDISATION, PairEmbedding
from .blocks import Tagger
from .features import param_dtype, particle_features, prepare_inputs, tagger_output

__all__ = ["PAIR_STANDARDISATION", "ParticleTransformer", "ParticleTransformerConfig"]


@dataclass(frozen=True)
class ParticleTransformerConfig(Config):
    """Hyper-parameters of :class:`ParticleTransformer` (defaults: the design notes).

    Attributes:
        num_classes: Number of output classes.
        embed_dim: Token width.
        num_heads: Attention heads (and pair-bias channels).
        mlp_dim: Hidden width of the feed-forward layers.
        num_layers: Self-attention blocks.
        num_class_layers: Class-attention blocks.
        dropout: Dropout probability.
        particle_embed_dims: Hidden widths of the particle embedding MLP.
        pair_embed_dims: Hidden widths of the pair embedding MLP (``()`` disables
            the pair bias).
        num_extra_features: Per-particle features beyond the kinematic ones (tracks, PID).
        absolute_eta_phi: Use lab-frame ``eta, phi`` as features.
        max_particles: Most real particles per jet (``None``: no limit; attention costs
            ``P^2``).
        amp: Use bfloat16 autocast when the inputs are on CUDA.

    Examples:
        >>> cfg = ParticleTransformerConfig.from_dict({"embed_dim": 16, "num_heads": 2})
        >>> ParticleTransformerConfig.from_json(cfg.to_json()) == cfg
        True
    """

    num_classes: int = bounded(5, ge=1)
    embed_dim: int = bounded(256, ge=1)
    num_heads: int = bounded(16, ge=1)
    mlp_dim: int = bounded(1024, ge=1)
    num_layers: int = bounded(8, ge=1)
    num_class_layers: int = bounded(2, ge=0)
    dropout: float = bounded(0.1, ge=0.0, lt=1.0)
    particle_embed_dims: tuple[int, ...] = bounded((128, 512), ge=1)
    pair_embed_dims: tuple[int, ...] = bounded((64, 64, 64), ge=1)
    num_extra_features: int = bounded(0, ge=0)
    absolute_eta_phi: bool = True
    max_particles: int | None = bounded(None, ge=1)
    amp: bool = True

    def validate(self) -> None:
        """The width divides by the number of heads."""
        if self.embed_dim % self.num_heads:
            reason = f"{self.embed_dim} must be divisible by num_heads={self.num_heads}"
            raise self.error("embed_dim", reason)

    @property
    def num_features(self) -> int:
        """Input features per particle."""
        return (9 if self.absolute_eta_phi else 7) + self.num_extra_features


def _mlp(dims: list[int], norm_first: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (d_in, d_out) in enumerate(itertools.pairwise(dims)):
        if norm_first and i:
            layers.append(nn.LayerNorm(d_in))
        layers += [nn.Linear(d_in, d_out), nn.GELU()]
    return nn.Sequential(*layers)


class ParticleTransformer(Tagger):
    """Particle Transformer over one padded particle stream (jet-free).

    Arguments:
        config: A :class:`ParticleTransformerConfig` or a dict of its fields.

    Shapes:
        p4: ``[B, P, 4]`` ``(E, px, py, pz)`` in GeV (float64 recommended: ``ln m^2`` of
        collinear pairs needs it); mask: ``[B, P]`` bool; extra: ``[B, P, K]``;
        output logits ``[B, num_classes]`` (float32).

    Examples:
        >>> model = ParticleTransformer({"num_classes": 3, "embed_dim": 16, "num_heads": 2,
        ...     "mlp_dim": 32, "num_layers": 1, "particle_embed_dims": (16,),
        ...     "pair_embed_dims": (8,)}).eval()
        >>> p4 = torch.tensor([[[50.0, 30, 0, 40], [20.0, 0, 20, 1], [0, 0, 0, 0]]])
        >>> mask = torch.tensor([[True, True, False]])
        >>> model(p4, mask).shape, round(model.predict_proba(p4, mask).sum().item(), 6)
        (torch.Size([1, 3]), 1.0)
    """

    def __init__(self, config: ParticleTransformerConfig | dict[str, Any] | None = None) -> None:
        super().__init__()
        cfg = self.config = ParticleTransformerConfig.coerce(config)
        dims = [cfg.num_features, *cfg.particle_embed_dims, cfg.embed_dim]
        self.embed = _mlp(dims, norm_first=True)
        self.pair_embed = (
            PairEmbedding(cfg.pair_embed_dims, cfg.num_heads) if cfg.pair_embed_dims else None
        )
        self.blocks = nn.ModuleList(
            AttentionBlock(cfg.embed_dim, cfg.num_heads, cfg.mlp_dim, cfg.dropout)
            for _ in range(cfg.num_layers)
        )
        self.class_blocks = nn.ModuleList(
            ClassAttentionBlock(cfg.embed_dim, cfg.num_heads, cfg.mlp_dim, cfg.dropout)
            for _ in range(cfg.num_class_layers)
        )
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.embed_dim))
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        self.norm = nn.LayerNorm(cfg.embed_dim)
        self.head = nn.Linear(cfg.embed_dim, cfg.num_classes)

    def forward(self, p4: Tensor, mask: Tensor, extra: Tensor | None = None) -> Tensor:
        cfg = self.config
        p4, mask, _ = prepare_inputs(p4, mask, extra, cfg.num_extra_features, cfg.max_particles)
        x = particle_features(p4, mask, extra, cfg.absolute_eta_phi).to(param_dtype(self))
        use_amp = cfg.amp and p4.is_cuda
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
            bias = self.pair_embed(p4, mask) if self.pair_embed is not None else None
            x = self.embed(x)
            x = torch.where(mask[..., None], x, torch.zeros_like(x))
            for block in self.blocks:
                x = block(x, mask, bias)
            cls = self.cls_token.expand(x.shape[0], -1, -1).to(x.dtype)
            for block in self.class_blocks:
                cls = block(cls, x, mask)
            logits: Tensor = self.head(self.norm(cls[:, 0]))
        return tagger_output(logits)

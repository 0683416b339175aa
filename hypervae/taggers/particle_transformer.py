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

from ..physics.pairwise import pairwise_features_torch
from ._config import ConfigMixin
from .blocks import AttentionBlock, ClassAttentionBlock, Tagger
from .features import check_inputs, particle_features

__all__ = ["PAIR_STANDARDISATION", "ParticleTransformer", "ParticleTransformerConfig"]

#: ``(shift, scale)`` mapping ``(ln_dr, ln_kt, ln_z, ln_m2)`` of GeV-scale jets to O(1).
PAIR_STANDARDISATION = ((-2.5, 1.0), (0.0, 0.5), (-2.0, 1.0), (1.5, 0.35))


@dataclass
class ParticleTransformerConfig(ConfigMixin):
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
        amp: Use bfloat16 autocast when the inputs are on CUDA.

    Examples:
        >>> cfg = ParticleTransformerConfig.from_dict({"embed_dim": 16, "num_heads": 2})
        >>> ParticleTransformerConfig.from_json(cfg.to_json()) == cfg
        True
    """

    num_classes: int = 5
    embed_dim: int = 256
    num_heads: int = 16
    mlp_dim: int = 1024
    num_layers: int = 8
    num_class_layers: int = 2
    dropout: float = 0.1
    particle_embed_dims: tuple[int, ...] = (128, 512)
    pair_embed_dims: tuple[int, ...] = (64, 64, 64)
    num_extra_features: int = 0
    absolute_eta_phi: bool = True
    amp: bool = True

    def __post_init__(self) -> None:
        for name in ("num_classes", "embed_dim", "num_heads", "mlp_dim", "num_layers"):
            if int(getattr(self, name)) < 1:
                msg = f"ParticleTransformerConfig.{name} must be >= 1, got {getattr(self, name)}"
                raise ValueError(msg)
        if self.embed_dim % self.num_heads:
            msg = (
                f"ParticleTransformerConfig.embed_dim={self.embed_dim} must be divisible by "
                f"num_heads={self.num_heads}"
            )
            raise ValueError(msg)
        if not 0.0 <= self.dropout < 1.0:
            msg = f"ParticleTransformerConfig.dropout must be in [0, 1), got {self.dropout}"
            raise ValueError(msg)
        self.particle_embed_dims = tuple(int(d) for d in self.particle_embed_dims)
        self.pair_embed_dims = tuple(int(d) for d in self.pair_embed_dims)

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


class PairEmbedding(nn.Module):
    """Pairwise features to one additive attention bias per head.

    Shapes:
        p4: ``[B, P, 4]``; mask: ``[B, P]``; output ``[B, H, P, P]`` (zero on padded pairs).
    """

    shift: Tensor
    scale: Tensor

    def __init__(self, hidden: tuple[int, ...], heads: int) -> None:
        super().__init__()
        shift, scale = zip(*PAIR_STANDARDISATION, strict=True)
        self.register_buffer("shift", torch.tensor(shift), persistent=False)
        self.register_buffer("scale", torch.tensor(scale), persistent=False)
        self.affine = nn.Parameter(torch.tensor([[1.0] * 4, [0.0] * 4]))
        self.mlp = _mlp([4, *hidden], norm_first=False)
        self.head = nn.Linear(hidden[-1], heads)

    def forward(self, p4: Tensor, mask: Tensor) -> Tensor:
        with torch.autocast(p4.device.type, enabled=False):
            feats, _ = pairwise_features_torch(p4, mask)
            feats = (feats.float() - self.shift) * self.scale
        feats = feats * self.affine[0] + self.affine[1]
        bias = self.head(self.mlp(feats)).permute(0, 3, 1, 2)
        pair = (mask[:, :, None] & mask[:, None, :])[:, None]
        return torch.where(pair, bias, torch.zeros_like(bias))


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
        check_inputs(p4, mask, extra)
        mask = mask.bool()
        if (extra.shape[-1] if extra is not None else 0) != cfg.num_extra_features:
            got = 0 if extra is None else extra.shape[-1]
            msg = f"extra: expected {cfg.num_extra_features} features per particle, got {got}"
            raise ValueError(msg)
        p4 = torch.where(mask[..., None], p4, torch.zeros_like(p4))
        x = particle_features(p4, mask, extra, cfg.absolute_eta_phi).float()
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
        return logits.float()

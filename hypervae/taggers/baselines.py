"""Budget-matched baselines built from the same blocks: a plain Transformer and PointNet.

Both read the same per-particle features as PHAT-JeT
(:func:`~hypervae.taggers.features.tagger_inputs`), have no positional information, and
pool with a masked mean or max, so their logits are invariant under permutations of the
particles and padded particles are ignored exactly.

* :class:`TransformerTagger`: linear embedding, ``num_layers``
  :class:`~hypervae.nn.AttentionBlock` (full self-attention, no pair bias), LayerNorm,
  pooling, linear classifier. ``transformer-small`` has about 4.6k parameters.
* :class:`PointNetTagger`: a per-particle MLP (Linear + GELU), pooling, an MLP classifier
  (the PointNet of Qi et al. without its input transforms). ``pointnet-small`` has about
  5.9k parameters.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from .._config import Config, bounded
from ..nn.attention_block import AttentionBlock
from ..nn.masked import masked_pool
from .blocks import Tagger
from .features import param_dtype, prepare_inputs, tagger_inputs, tagger_output

__all__ = ["PointNetConfig", "PointNetTagger", "TransformerTagger", "TransformerTaggerConfig"]


@dataclass(frozen=True)
class _InputConfig(Config):
    features: Literal["hls4ml", "part"] = "hls4ml"
    num_extra_features: int = bounded(0, ge=0)
    absolute_eta_phi: bool = True
    max_particles: int | None = bounded(150, ge=1)

    @property
    def num_features(self) -> int:
        """Input features per particle."""
        base = 16 if self.features == "hls4ml" else (9 if self.absolute_eta_phi else 7)
        return base + self.num_extra_features


@dataclass(frozen=True)
class TransformerTaggerConfig(_InputConfig):
    """Hyper-parameters of :class:`TransformerTagger` (defaults: ``transformer-small``).

    Attributes:
        num_classes: Output classes.
        embed_dim, num_heads, mlp_dim, num_layers: Token width, heads, feed-forward
            width, self-attention blocks.
        dropout: Dropout probability.
        aggregation: ``"mean"`` or ``"max"`` over the final tokens.
        features, num_extra_features, absolute_eta_phi, max_particles: Inputs, as for
            :class:`~hypervae.taggers.PHATJeTConfig`.
    """

    num_classes: int = bounded(5, ge=1)
    embed_dim: int = bounded(16, ge=1)
    num_heads: int = bounded(2, ge=1)
    mlp_dim: int = bounded(24, ge=1)
    num_layers: int = bounded(2, ge=1)
    dropout: float = bounded(0.0, ge=0.0, lt=1.0)
    aggregation: Literal["mean", "max"] = "max"

    def validate(self) -> None:
        """The width divides by the number of heads."""
        if self.embed_dim % self.num_heads:
            reason = f"{self.embed_dim} must be divisible by num_heads={self.num_heads}"
            raise self.error("embed_dim", reason)


@dataclass(frozen=True)
class PointNetConfig(_InputConfig):
    """Hyper-parameters of :class:`PointNetTagger` (defaults: ``pointnet-small``).

    Attributes:
        num_classes: Output classes.
        hidden: Widths of the per-particle MLP.
        head: Hidden widths of the classifier MLP.
        aggregation: ``"max"`` (PointNet) or ``"mean"`` (Deep Sets).
    """

    num_classes: int = bounded(5, ge=1)
    hidden: tuple[int, ...] = bounded((32, 64), ge=1)
    head: tuple[int, ...] = bounded((48,), ge=1)
    aggregation: Literal["mean", "max"] = "max"

    def validate(self) -> None:
        """At least one per-particle layer."""
        if not self.hidden:
            raise self.error("hidden", "need at least one width")


def _checked_inputs(
    cfg: _InputConfig, p4: Tensor, mask: Tensor, extra: Tensor | None, dtype: torch.dtype
) -> tuple[Tensor, Tensor]:
    """Validates the inputs and returns ``(features, mask)`` (features in ``dtype``)."""
    p4, mask, _ = prepare_inputs(p4, mask, extra, cfg.num_extra_features, cfg.max_particles)
    x = tagger_inputs(p4, mask, extra, cfg.features, cfg.absolute_eta_phi).to(dtype)
    return x, mask


class TransformerTagger(Tagger):
    """Plain Transformer over the particles (no pair bias, no class token).

    Arguments:
        config: A :class:`TransformerTaggerConfig` or a dict of its fields.

    Shapes:
        p4: ``[B, P, 4]`` in GeV; mask: ``[B, P]``; extra: ``[B, P, K]``; output logits
        ``[B, num_classes]``.

    Examples:
        >>> model = TransformerTagger({"num_classes": 2}).eval()
        >>> p4 = torch.tensor([[[50.0, 30, 0, 40], [20.0, 0, 20, 1]]])
        >>> model(p4, torch.ones(1, 2, dtype=torch.bool)).shape
        torch.Size([1, 2])
    """

    def __init__(self, config: TransformerTaggerConfig | dict[str, Any] | None = None) -> None:
        super().__init__()
        cfg = self.config = TransformerTaggerConfig.coerce(config)
        self.embed = nn.Linear(cfg.num_features, cfg.embed_dim)
        self.blocks = nn.ModuleList(
            AttentionBlock(cfg.embed_dim, cfg.num_heads, cfg.mlp_dim, cfg.dropout)
            for _ in range(cfg.num_layers)
        )
        self.norm = nn.LayerNorm(cfg.embed_dim)
        self.head = nn.Linear(cfg.embed_dim, cfg.num_classes)

    def forward(self, p4: Tensor, mask: Tensor, extra: Tensor | None = None) -> Tensor:
        x, mask = _checked_inputs(self.config, p4, mask, extra, param_dtype(self))
        x = self.embed(x)
        x = torch.where(mask[..., None], x, torch.zeros_like(x))
        for block in self.blocks:
            x = block(x, mask)
        logits: Tensor = self.head(self.norm(masked_pool(x, mask, self.config.aggregation)))
        return tagger_output(logits)


class PointNetTagger(Tagger):
    """PointNet: a shared per-particle MLP, a symmetric pooling, an MLP classifier.

    Arguments:
        config: A :class:`PointNetConfig` or a dict of its fields.

    Shapes:
        p4: ``[B, P, 4]`` in GeV; mask: ``[B, P]``; extra: ``[B, P, K]``; output logits
        ``[B, num_classes]``.

    Examples:
        >>> model = PointNetTagger({"num_classes": 2}).eval()
        >>> p4 = torch.tensor([[[50.0, 30, 0, 40], [20.0, 0, 20, 1]]])
        >>> model(p4, torch.ones(1, 2, dtype=torch.bool)).shape
        torch.Size([1, 2])
    """

    def __init__(self, config: PointNetConfig | dict[str, Any] | None = None) -> None:
        super().__init__()
        cfg = self.config = PointNetConfig.coerce(config)
        layers: list[nn.Module] = []
        for d_in, d_out in itertools.pairwise([cfg.num_features, *cfg.hidden]):
            layers += [nn.Linear(d_in, d_out), nn.GELU()]
        self.particle_mlp = nn.Sequential(*layers)
        head: list[nn.Module] = []
        for d_in, d_out in itertools.pairwise([cfg.hidden[-1], *cfg.head]):
            head += [nn.Linear(d_in, d_out), nn.GELU()]
        head.append(nn.Linear(([cfg.hidden[-1], *cfg.head])[-1], cfg.num_classes))
        self.head = nn.Sequential(*head)

    def forward(self, p4: Tensor, mask: Tensor, extra: Tensor | None = None) -> Tensor:
        x, mask = _checked_inputs(self.config, p4, mask, extra, param_dtype(self))
        x = self.particle_mlp(x)
        logits: Tensor = self.head(masked_pool(x, mask, self.config.aggregation))
        return tagger_output(logits)

r"""PHAT-JeT: particles ordered, then geometric message passing and hierarchical patch attention.

The particles of a jet are sorted internally (by :math:`k_T = p_T \Delta R`, :math:`p_T`,
:math:`\Delta\eta` or the Morton code of their :math:`(\Delta\eta, \Delta\phi)` cell), so
the output does not depend on the input order (up to exact ties of the sort key). Each
stage stacks blocks of

* geometric message passing (:class:`~hypervae.taggers.gmp.GeometricMessagePassing`),
* hierarchical patch attention (:class:`~hypervae.taggers.patch_attention.PatchAttention`),
* a feed-forward layer,

and between stages consecutive pairs of particles are pooled (masked mean, width change),
halving the sequence and the grid. A masked mean over the final tokens feeds a linear
classifier. Every operation ignores padded particles exactly, and the cost grows close to
linearly with the number of particles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import Tensor, nn

from ._config import ConfigMixin
from .blocks import Tagger, _FeedForward, masked_mean
from .features import check_inputs, kinematics, particle_features
from .gmp import GeometricMessagePassing
from .patch_attention import PatchAttention, pad_to_multiple

__all__ = ["ORDERINGS", "PRESETS", "PHATJeT", "PHATJeTConfig", "ordering_key", "sort_particles"]

ORDERINGS = ("kt", "pt", "eta", "morton")

#: Preset sizes: ``dims``, ``depths`` and ``num_heads`` per stage.
PRESETS: dict[str, dict[str, tuple[int, ...]]] = {
    "small": {"dims": (64, 128), "depths": (2, 2), "num_heads": (4, 8)},
    "medium": {"dims": (96, 192, 384), "depths": (2, 2, 2), "num_heads": (4, 8, 12)},
    "large": {"dims": (128, 256, 512), "depths": (2, 4, 2), "num_heads": (4, 8, 16)},
}


@dataclass
class PHATJeTConfig(ConfigMixin):
    """Hyper-parameters of :class:`PHATJeT` (defaults: the ``small`` preset).

    Attributes:
        num_classes: Output classes.
        dims, depths, num_heads: Width, number of blocks and heads of each stage.
        patch_size: Particles per attention patch.
        mlp_ratio: Feed-forward hidden width over token width.
        dropout: Dropout probability.
        grid_size: GMP cells per axis in the first stage (halved at each later stage).
        grid_extent: Half-width of the GMP grid in jet-relative eta and phi.
        kernel_size: Depthwise convolution kernel size.
        ordering: One of ``"kt"``, ``"pt"``, ``"eta"``, ``"morton"``.
        num_extra_features: Per-particle features beyond the kinematic ones.
        absolute_eta_phi: Use lab-frame ``eta, phi`` as features.
        amp: Use bfloat16 autocast when the inputs are on CUDA.

    Examples:
        >>> PHATJeTConfig.preset("medium", num_classes=2).dims
        (96, 192, 384)
    """

    num_classes: int = 5
    dims: tuple[int, ...] = (64, 128)
    depths: tuple[int, ...] = (2, 2)
    num_heads: tuple[int, ...] = (4, 8)
    patch_size: int = 16
    mlp_ratio: int = 4
    dropout: float = 0.1
    grid_size: int = 16
    grid_extent: float = 0.8
    kernel_size: int = 3
    ordering: str = "kt"
    num_extra_features: int = 0
    absolute_eta_phi: bool = True
    amp: bool = True

    def __post_init__(self) -> None:
        self.dims, self.depths, self.num_heads = (
            tuple(int(v) for v in t) for t in (self.dims, self.depths, self.num_heads)
        )
        if not len(self.dims) == len(self.depths) == len(self.num_heads) >= 1:
            msg = (
                "PHATJeTConfig.dims, depths and num_heads need one entry per stage, got "
                f"{self.dims}, {self.depths}, {self.num_heads}"
            )
            raise ValueError(msg)
        for i, (d, h) in enumerate(zip(self.dims, self.num_heads, strict=True)):
            if d % h:
                msg = f"PHATJeTConfig.dims[{i}]={d} must be divisible by num_heads[{i}]={h}"
                raise ValueError(msg)
        if self.ordering not in ORDERINGS:
            msg = f"PHATJeTConfig.ordering must be one of {ORDERINGS}, got {self.ordering!r}"
            raise ValueError(msg)
        if self.patch_size < 1 or self.grid_size < 1:
            msg = "PHATJeTConfig.patch_size and grid_size must be >= 1"
            raise ValueError(msg)

    @classmethod
    def preset(cls, name: str, **overrides: object) -> PHATJeTConfig:
        """The ``small``, ``medium`` or ``large`` preset with fields overridden."""
        if name not in PRESETS:
            msg = f"unknown PHAT-JeT preset {name!r}; expected one of {sorted(PRESETS)}"
            raise ValueError(msg)
        return cls.from_dict({**PRESETS[name], **overrides})

    @property
    def num_features(self) -> int:
        """Input features per particle."""
        return (9 if self.absolute_eta_phi else 7) + self.num_extra_features


def _morton(i: Tensor, j: Tensor, bits: int = 10) -> Tensor:
    code = torch.zeros_like(i)
    for b in range(bits):
        code |= ((i >> b) & 1) << (2 * b + 1)
        code |= ((j >> b) & 1) << (2 * b)
    return code


def ordering_key(
    kin: dict[str, Tensor], mask: Tensor, ordering: str, extent: float = 0.8
) -> Tensor:
    r"""Sort key per particle (ascending order; padded particles get ``+inf``).

    ``kt`` and ``pt`` sort by decreasing :math:`p_T\Delta R` and :math:`p_T`, ``eta`` by
    increasing :math:`\Delta\eta`, ``morton`` by the Z-order code of the particle's cell on
    a ``1024 x 1024`` grid over ``[-extent, extent]^2``.

    Shapes:
        kin: outputs of :func:`~hypervae.taggers.features.kinematics`; mask ``[B, P]``;
        output ``[B, P]`` float64.
    """
    if ordering == "kt":
        key = -(kin["pt"] * kin["dr"]).double()
    elif ordering == "pt":
        key = -kin["pt"].double()
    elif ordering == "eta":
        key = kin["deta"].double()
    elif ordering == "morton":
        coords = torch.stack([kin["deta"], kin["dphi"]], -1).double()
        ij = torch.floor((coords + extent) / (2 * extent) * 1024).long().clamp(0, 1023)
        key = _morton(ij[..., 0], ij[..., 1]).double()
    else:
        msg = f"ordering must be one of {ORDERINGS}, got {ordering!r}"
        raise ValueError(msg)
    return torch.where(mask.bool(), key, torch.full_like(key, float("inf")))


def sort_particles(kin: dict[str, Tensor], mask: Tensor, ordering: str) -> Tensor:
    """Permutation ``[B, P]`` that sorts real particles by ``ordering``, padding last.

    Examples:
        >>> p4 = torch.tensor([[[10.0, 10, 0, 0], [0, 0, 0, 0], [30.0, 30, 0, 0]]])
        >>> mask = torch.tensor([[True, False, True]])
        >>> sort_particles(kinematics(p4, mask), mask, "pt").tolist()
        [[2, 0, 1]]
    """
    return torch.argsort(ordering_key(kin, mask, ordering), dim=1, stable=True)


class _Block(nn.Module):
    def __init__(self, dim: int, heads: int, cfg: PHATJeTConfig, grid_size: int) -> None:
        super().__init__()
        self.gmp_norm = nn.LayerNorm(dim)
        self.gmp = GeometricMessagePassing(dim, grid_size, cfg.grid_extent, cfg.kernel_size)
        self.attn_norm = nn.LayerNorm(dim)
        self.attn = PatchAttention(dim, heads, cfg.patch_size, cfg.dropout)
        self.ffn = _FeedForward(dim, cfg.mlp_ratio * dim, cfg.dropout)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: Tensor, coords: Tensor, mask: Tensor) -> Tensor:
        x = x + self.gmp(self.gmp_norm(x), coords, mask)
        x = x + self.drop(self.attn(self.attn_norm(x), mask))
        x = x + self.drop(self.ffn(x))
        return torch.where(mask[..., None], x, torch.zeros_like(x))


class _Pool(nn.Module):
    """Masked mean of consecutive pairs of particles, with a width change."""

    def __init__(self, dim_in: int, dim_out: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim_in)
        self.proj = nn.Linear(dim_in, dim_out)

    def forward(self, x: Tensor, coords: Tensor, mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        b, p, _ = x.shape
        x = self.proj(self.norm(x))
        m = mask.reshape(b * p // 2, 2)
        x = masked_mean(x.reshape(b * p // 2, 2, -1), m).reshape(b, p // 2, -1)
        coords = masked_mean(coords.reshape(b * p // 2, 2, -1), m).reshape(b, p // 2, -1)
        mask = m.any(dim=1).reshape(b, p // 2)
        return torch.where(mask[..., None], x, torch.zeros_like(x)), coords, mask


class PHATJeT(Tagger):
    """PHAT-JeT tagger: ordered particles, GMP and hierarchical patch attention.

    Arguments:
        config: A :class:`PHATJeTConfig`, a dict of its fields, or a preset name.

    Shapes:
        p4: ``[B, P, 4]`` ``(E, px, py, pz)`` in GeV; mask: ``[B, P]``;
        extra: ``[B, P, K]``; output logits ``[B, num_classes]`` (float32).

    Examples:
        >>> model = PHATJeT({"num_classes": 2, "dims": (8, 16), "depths": (1, 1),
        ...     "num_heads": (2, 2), "patch_size": 4}).eval()
        >>> p4 = torch.tensor([[[50.0, 30, 0, 40], [20.0, 0, 20, 1], [0, 0, 0, 0]]])
        >>> model(p4, torch.tensor([[True, True, False]])).shape
        torch.Size([1, 2])
    """

    def __init__(self, config: PHATJeTConfig | dict[str, Any] | str | None = None) -> None:
        super().__init__()
        if isinstance(config, str):
            config = PHATJeTConfig.preset(config)
        cfg = self.config = PHATJeTConfig.coerce(config)
        self.embed = nn.Sequential(
            nn.Linear(cfg.num_features, cfg.dims[0]),
            nn.GELU(),
            nn.Linear(cfg.dims[0], cfg.dims[0]),
        )
        self.pools = nn.ModuleList(
            _Pool(cfg.dims[i - 1], cfg.dims[i]) for i in range(1, len(cfg.dims))
        )
        self.stages = nn.ModuleList(
            nn.ModuleList(_Block(dim, heads, cfg, max(2, cfg.grid_size >> i)) for _ in range(depth))
            for i, (dim, depth, heads) in enumerate(
                zip(cfg.dims, cfg.depths, cfg.num_heads, strict=True)
            )
        )
        self.norm = nn.LayerNorm(cfg.dims[-1])
        self.head = nn.Linear(cfg.dims[-1], cfg.num_classes)

    def forward(self, p4: Tensor, mask: Tensor, extra: Tensor | None = None) -> Tensor:
        cfg = self.config
        check_inputs(p4, mask, extra)
        got = 0 if extra is None else extra.shape[-1]
        if got != cfg.num_extra_features:
            msg = f"extra: expected {cfg.num_extra_features} features per particle, got {got}"
            raise ValueError(msg)
        mask = mask.bool()
        p4 = torch.where(mask[..., None], p4, torch.zeros_like(p4))
        kin = kinematics(p4, mask)
        order = sort_particles(kin, mask, cfg.ordering)
        x = particle_features(p4, mask, extra, cfg.absolute_eta_phi).float()
        coords = torch.stack([kin["deta"], kin["dphi"]], dim=-1).float()
        take = order[..., None]
        x = x.gather(1, take.expand(-1, -1, x.shape[-1]))
        coords = coords.gather(1, take.expand(-1, -1, 2))
        mask = mask.gather(1, order)
        multiple = cfg.patch_size * 2 ** (len(cfg.dims) - 1)
        x, _ = pad_to_multiple(x, mask, multiple)
        coords, mask = pad_to_multiple(coords, mask, multiple)
        use_amp = cfg.amp and p4.is_cuda
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
            x = self.embed(x)
            for i, blocks in enumerate(self.stages):
                if i:
                    x, coords, mask = self.pools[i - 1](x, coords, mask)
                for block in cast(nn.ModuleList, blocks):
                    x = block(x, coords, mask)
            logits: Tensor = self.head(self.norm(masked_mean(x, mask)))
        return logits.float()

r"""PHAT-JeT: particles ordered, then geometric message passing and hierarchical patch attention.

The particles of a jet are sorted internally (``sort_by``: :math:`k_T = p_T \Delta R`,
:math:`p_T`, :math:`\Delta\eta` or the Morton code of their :math:`(\Delta\eta,
\Delta\phi)` cell), so the output does not depend on the input order (up to exact ties of
the sort key). After a linear embedding of the per-particle features, each stage
(optionally after pooling ``strides[i]`` consecutive particles,
:class:`~hypervae.nn.SequencePool`) stacks ``depths[i]`` blocks of

* an optional conditional positional encoding (:class:`~hypervae.nn.ConditionalPositionalEncoding`),
* geometric message passing (:class:`~hypervae.nn.GeometricMessagePassing`),
* hierarchical patch attention (:class:`~hypervae.nn.PatchAttention`, ``patch_sizes[i]``),
* a feed-forward layer (:class:`~hypervae.nn.FeedForward`),

each added to the residual stream. A masked mean or max over the final tokens feeds a
LayerNorm and a linear classifier. Every operation ignores padded particles exactly,
and the cost grows close to linearly with the number of particles. The sizes of the
presets are in :mod:`hypervae.taggers.presets`.

References:
    | Patch Hierarchical Attention Transformer for Efficient Particle Jet Tagging
    | (Wang et al., 2026), https://arxiv.org/abs/2605.21789
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal, cast

import torch
from torch import Tensor, nn

from .._config import Config, bounded
from ..nn.feedforward import FeedForward
from ..nn.gmp import GeometricMessagePassing
from ..nn.masked import masked_pool
from ..nn.patch_attention import PatchAttention
from ..nn.positional import ConditionalPositionalEncoding
from ..nn.sequence_pool import SequencePool
from .blocks import Tagger
from .features import kinematics, param_dtype, prepare_inputs, tagger_inputs, tagger_output

__all__ = ["ORDERINGS", "PRESETS", "PHATJeT", "PHATJeTConfig", "ordering_key", "sort_particles"]

ORDERINGS = ("kt", "pt", "eta", "morton")

#: The sizes shipped before the published presets (``phat-small`` ...): 9 ParT features,
#: two-layer embedding, patches of 16, pooling by 2, no particle limit.
PRESETS: dict[str, dict[str, Any]] = {
    "small": {"dims": (64, 128), "depths": (2, 2), "num_heads": (4, 8)},
    "medium": {"dims": (96, 192, 384), "depths": (2, 2, 2), "num_heads": (4, 8, 12)},
    "large": {"dims": (128, 256, 512), "depths": (2, 4, 2), "num_heads": (4, 8, 16)},
}


def _legacy(values: dict[str, Any]) -> dict[str, Any]:
    """Maps a config dict of the first PHAT-JeT version (``ordering``, ``patch_size``)."""
    values = dict(values)
    stages = len(values.get("dims", (16, 32)))
    if "ordering" in values:
        values.setdefault("sort_by", values.pop("ordering"))
    if "patch_size" in values:
        values.setdefault("patch_sizes", (values.pop("patch_size"),) * stages)
    values.setdefault("patch_sizes", (16,) * stages)
    values.setdefault("strides", (1,) + (2,) * (stages - 1))
    values.setdefault("embed_dims", (values.get("dims", (16,))[0],))
    values.setdefault("features", "part")
    values.setdefault("max_particles", None)
    values.setdefault("mlp_ratio", 4.0)
    values.setdefault("dropout", 0.1)
    values.setdefault("grid_size", 16)
    values.setdefault("cpe", False)
    values.setdefault("aggregation", "mean")
    return values


@dataclass(frozen=True)
class PHATJeTConfig(Config):
    """Hyper-parameters of :class:`PHATJeT` (defaults: the published small model, ``phat-jet``).

    Attributes:
        num_classes: Output classes.
        dims, depths, num_heads: Width, number of blocks and heads of each stage.
        patch_sizes: Particles per attention patch in each stage.
        strides: Particles merged by the pooling before each stage (``strides[0] == 1``).
        embed_dims: Hidden widths of the particle embedding (``()``: one linear map).
        mlp_ratio: Feed-forward hidden width over token width.
        dropout: Dropout probability.
        use_gmp: Geometric message passing in every block.
        grid_size: GMP cells per axis in the first stage (halved at each later stage).
        grid_extent: Half-width of the GMP grid in jet-relative eta and phi.
        kernel_size: Depthwise GMP convolution kernel size.
        cpe: Conditional positional encoding (depthwise conv over the sorted sequence).
        cpe_kernel: Its kernel size.
        aggregation: Pooling of the final tokens, ``"mean"`` or ``"max"``.
        sort_by: Particle ordering, ``"kt"``, ``"pt"``, ``"eta"`` or ``"morton"``.
        features: ``"hls4ml"`` (16 features) or ``"part"`` (9 ParT features).
        num_extra_features: Per-particle features beyond the kinematic ones.
        absolute_eta_phi: With ``features="part"``: lab-frame ``eta, phi`` as features.
        max_particles: Most real particles per jet (``None``: no limit).
        amp: Use bfloat16 autocast when the inputs are on CUDA.

    Examples:
        >>> PHATJeTConfig.preset("medium", num_classes=2).dims
        (96, 192, 384)
        >>> PHATJeTConfig(sort_by="random")
        Traceback (most recent call last):
            ...
        hypervae._config.ConfigError: PHATJeTConfig.sort_by: must be one of ['kt', 'pt', 'eta', 'morton'], got 'random' (str)
    """

    num_classes: int = bounded(5, ge=1)
    dims: tuple[int, ...] = bounded((12,), ge=1)
    depths: tuple[int, ...] = bounded((2,), ge=1)
    num_heads: tuple[int, ...] = bounded((2,), ge=1)
    patch_sizes: tuple[int, ...] = bounded((8,), ge=1)
    strides: tuple[int, ...] = bounded((1,), ge=1)
    embed_dims: tuple[int, ...] = bounded((), ge=1)
    mlp_ratio: float = bounded(4.0, gt=0.0)
    dropout: float = bounded(0.0, ge=0.0, lt=1.0)
    use_gmp: bool = True
    grid_size: int = bounded(8, ge=1)
    grid_extent: float = bounded(0.8, gt=0.0)
    kernel_size: int = bounded(3, ge=1)
    cpe: bool = True
    cpe_kernel: int = bounded(3, ge=1)
    aggregation: Literal["mean", "max"] = "max"
    sort_by: Literal["kt", "pt", "eta", "morton"] = "kt"
    features: Literal["hls4ml", "part"] = "hls4ml"
    num_extra_features: int = bounded(0, ge=0)
    absolute_eta_phi: bool = True
    max_particles: int | None = bounded(150, ge=1)
    amp: bool = True

    def validate(self) -> None:
        """Per-stage tuples agree in length; widths divide by heads; odd kernels."""
        n = len(self.dims)
        if n < 1:
            raise self.error("dims", "need at least one stage")
        for name in ("depths", "num_heads", "patch_sizes", "strides"):
            if len(getattr(self, name)) != n:
                reason = f"need one entry per stage ({n}, as dims), got {getattr(self, name)}"
                raise self.error(name, reason)
        for i, (d, h) in enumerate(zip(self.dims, self.num_heads, strict=True)):
            if d % h:
                raise self.error(f"dims[{i}]", f"{d} must be divisible by num_heads[{i}]={h}")
        if self.strides[0] != 1:
            raise self.error(
                "strides[0]", f"the first stage is not pooled: must be 1, got {self.strides[0]}"
            )
        for name in ("kernel_size", "cpe_kernel"):
            if getattr(self, name) % 2 != 1:
                raise self.error(name, f"must be odd, got {getattr(self, name)}")

    @classmethod
    def _from_dict(cls, values: Any, path: str) -> PHATJeTConfig:
        if isinstance(values, dict) and ({"ordering", "patch_size"} & set(values)):
            warnings.warn(
                f"{path}: 'ordering' and 'patch_size' are the first version's names; use "
                "'sort_by' and 'patch_sizes' (one per stage)",
                DeprecationWarning,
                stacklevel=3,
            )
            values = _legacy(values)
        return super()._from_dict(values, path)

    @classmethod
    def preset(cls, name: str, **overrides: object) -> PHATJeTConfig:
        """A first-version preset (``small``, ``medium``, ``large``) with fields overridden.

        The published sizes are :func:`hypervae.taggers.build_tagger` ``("phat-jet")``,
        ``"phat-jet-medium"`` and ``"phat-jet-large"``.
        """
        if name not in PRESETS:
            msg = f"unknown PHAT-JeT preset {name!r}; expected one of {sorted(PRESETS)}"
            raise ValueError(msg)
        values = _legacy({**PRESETS[name], **overrides})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return cls.from_dict(values)

    @property
    def num_features(self) -> int:
        """Input features per particle."""
        base = 16 if self.features == "hls4ml" else (9 if self.absolute_eta_phi else 7)
        return base + self.num_extra_features


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
    def __init__(self, dim: int, heads: int, patch: int, cfg: PHATJeTConfig, grid: int) -> None:
        super().__init__()
        if cfg.cpe:
            self.cpe = ConditionalPositionalEncoding(dim, cfg.cpe_kernel)
        if cfg.use_gmp:
            self.gmp_norm = nn.LayerNorm(dim)
            self.gmp = GeometricMessagePassing(dim, grid, cfg.grid_extent, cfg.kernel_size)
        self.attn_norm = nn.LayerNorm(dim)
        self.attn = PatchAttention(dim, heads, patch, cfg.dropout)
        self.ffn = FeedForward(dim, max(1, round(cfg.mlp_ratio * dim)), cfg.dropout)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: Tensor, coords: Tensor, mask: Tensor) -> Tensor:
        if hasattr(self, "cpe"):
            x = x + self.cpe(x, mask)
        if hasattr(self, "gmp"):
            x = x + self.gmp(self.gmp_norm(x), coords, mask)
        x = x + self.drop(self.attn(self.attn_norm(x), mask))
        x = x + self.drop(self.ffn(x))
        return torch.where(mask[..., None], x, torch.zeros_like(x))


def _embedding(dims: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(dims) - 1):
        layers += [nn.Linear(dims[i], dims[i + 1]), nn.GELU()]
    return nn.Sequential(*layers[:-1])


class PHATJeT(Tagger):
    """PHAT-JeT tagger: ordered particles, GMP and hierarchical patch attention.

    Arguments:
        config: A :class:`PHATJeTConfig`, a dict of its fields, or a first-version preset
            name (``"small"``...; the published presets are built by
            :func:`~hypervae.taggers.build_tagger`).

    Shapes:
        p4: ``[B, P, 4]`` ``(E, px, py, pz)`` in GeV; mask: ``[B, P]``;
        extra: ``[B, P, K]``; output logits ``[B, num_classes]`` (float32).

    Examples:
        >>> model = PHATJeT({"num_classes": 2}).eval()
        >>> p4 = torch.tensor([[[50.0, 30, 0, 40], [20.0, 0, 20, 1], [0, 0, 0, 0]]])
        >>> model(p4, torch.tensor([[True, True, False]])).shape
        torch.Size([1, 2])
    """

    def __init__(self, config: PHATJeTConfig | dict[str, Any] | str | None = None) -> None:
        super().__init__()
        if isinstance(config, str):
            config = PHATJeTConfig.preset(config)
        cfg = self.config = PHATJeTConfig.coerce(config)
        self.embed = _embedding([cfg.num_features, *cfg.embed_dims, cfg.dims[0]])
        self.pools = nn.ModuleList(
            SequencePool(cfg.dims[i - 1], cfg.dims[i], cfg.strides[i])
            for i in range(1, len(cfg.dims))
        )
        self.stages = nn.ModuleList(
            nn.ModuleList(
                _Block(dim, heads, patch, cfg, max(2, cfg.grid_size >> i)) for _ in range(depth)
            )
            for i, (dim, depth, heads, patch) in enumerate(
                zip(cfg.dims, cfg.depths, cfg.num_heads, cfg.patch_sizes, strict=True)
            )
        )
        self.norm = nn.LayerNorm(cfg.dims[-1])
        self.head = nn.Linear(cfg.dims[-1], cfg.num_classes)

    def forward(self, p4: Tensor, mask: Tensor, extra: Tensor | None = None) -> Tensor:
        cfg = self.config
        p4, mask, counts = prepare_inputs(
            p4, mask, extra, cfg.num_extra_features, cfg.max_particles
        )
        kin = kinematics(p4, mask)
        order = sort_particles(kin, mask, cfg.sort_by)[:, : int(counts.max())]
        x = tagger_inputs(p4, mask, extra, cfg.features, cfg.absolute_eta_phi).to(param_dtype(self))
        coords = torch.stack([kin["deta"], kin["dphi"]], dim=-1).to(x.dtype)
        take = order[..., None]
        x = x.gather(1, take.expand(-1, -1, x.shape[-1]))
        coords = coords.gather(1, take.expand(-1, -1, 2))
        mask = mask.gather(1, order)
        use_amp = cfg.amp and p4.is_cuda
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
            x = self.embed(x)
            for i, blocks in enumerate(self.stages):
                if i:
                    x, coords, mask = self.pools[i - 1](x, coords, mask)
                for block in cast(nn.ModuleList, blocks):
                    x = block(x, coords, mask)
            pooled = masked_pool(x, mask, cfg.aggregation)
            logits: Tensor = self.head(self.norm(pooled))
        return tagger_output(logits)

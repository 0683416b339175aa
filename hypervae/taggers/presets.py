"""Taggers by name: the published PHAT-JeT sizes, budget-matched baselines, ParT.

====================  ==========================================================  =======
name                  model                                                       params
====================  ==========================================================  =======
``phat-jet``          PHAT-JeT, published small size: 16 hls4ml features, one      6,557
                      stage of width 12, 2 blocks, 2 heads, patches of 8, CPE,
                      GMP on an 8x8 grid, max pooling (published: 6,694)
``phat-jet-medium``   widths 16, 32; 2 + 2 blocks; heads 2, 4; pooling by 2;       40.7k
                      feed-forward ratio 2
``phat-jet-large``    widths 24, 48; 2 + 2 blocks; heads 3, 6; pooling by 2;       112k
                      feed-forward ratio 4
``transformer-small`` plain Transformer, width 16, 2 blocks, FFN 24, max pooling   4,469
                      (published: 4,600)
``pointnet-small``    PointNet 16-32-64, max, 48-5 (published: 5,893)              6,021
``part-small``        Particle Transformer, width 16, 2 + 1 blocks, pair bias      7.6k
``part``              Particle Transformer at its published size                   8.1M
``phat[-small|...]``  first-version PHAT-JeT sizes (0.77M+; 9 ParT features)
====================  ==========================================================  =======

Counts are for 5 classes; ``num_classes`` and the ``overrides`` (config fields) change
them. The published table gives the small model's budget, not its layer sizes (we had
no access to its configuration files): the ``phat-jet`` sizes here are ours, chosen to
meet its parameter and FLOP budget (1.44 MFLOPs at 150 particles by
:func:`~hypervae.taggers.flops.count_flops`, published 1.31). The medium and large sizes
are ours too: a pooled second stage at twice the width, each step costing about 3-6x the
parameters and FLOPs of the one below (40.7k / 5.3 MFLOPs, 112k / 15.6 MFLOPs), so that
the three sizes span about 1.5 orders of magnitude of trigger budget.

Example:
    >>> model = build_tagger("phat-jet", num_classes=5)
    >>> 0.9 * 6694 <= sum(p.numel() for p in model.parameters()) <= 1.1 * 6694
    True
"""

from __future__ import annotations

from typing import Any

from torch import nn

from .baselines import PointNetConfig, PointNetTagger, TransformerTagger, TransformerTaggerConfig
from .particle_transformer import ParticleTransformer, ParticleTransformerConfig
from .phat import PRESETS, PHATJeT, PHATJeTConfig

__all__ = ["TAGGER_PRESETS", "build_tagger"]

_MEDIUM = {
    "dims": (16, 32),
    "depths": (2, 2),
    "num_heads": (2, 4),
    "patch_sizes": (8, 8),
    "strides": (1, 2),
    "mlp_ratio": 2.0,
}
_LARGE = {
    "dims": (24, 48),
    "depths": (2, 2),
    "num_heads": (3, 6),
    "patch_sizes": (8, 8),
    "strides": (1, 2),
    "mlp_ratio": 4.0,
}
_PART_SMALL = {
    "embed_dim": 16,
    "num_heads": 2,
    "mlp_dim": 32,
    "num_layers": 2,
    "num_class_layers": 1,
    "particle_embed_dims": (16,),
    "pair_embed_dims": (8,),
    "dropout": 0.0,
}

#: ``name -> (class, config class, fields)`` of the named presets.
TAGGER_PRESETS: dict[str, tuple[type[nn.Module], type[Any], dict[str, Any]]] = {
    "phat-jet": (PHATJeT, PHATJeTConfig, {}),
    "phat-jet-small": (PHATJeT, PHATJeTConfig, {}),
    "phat-jet-medium": (PHATJeT, PHATJeTConfig, _MEDIUM),
    "phat-jet-large": (PHATJeT, PHATJeTConfig, _LARGE),
    "transformer-small": (TransformerTagger, TransformerTaggerConfig, {}),
    "pointnet-small": (PointNetTagger, PointNetConfig, {}),
    "part-small": (ParticleTransformer, ParticleTransformerConfig, _PART_SMALL),
    "part": (ParticleTransformer, ParticleTransformerConfig, {}),
    "particle-transformer": (ParticleTransformer, ParticleTransformerConfig, {}),
}


def build_tagger(name: str, num_classes: int, **overrides: Any) -> nn.Module:
    """A tagger by preset name (see the module table) with config fields overridden.

    Raises:
        ValueError: For an unknown name (the message lists the known ones).
        hypervae.ConfigError: For a bad or unknown field (named by its dotted path).

    Examples:
        >>> build_tagger("phat-jet-medium", 3).config.dims
        (16, 32)
        >>> build_tagger("phat-medium", 3).config.dims  # first-version preset
        (96, 192, 384)
    """
    key = name.lower().replace("_", "-")
    if key in TAGGER_PRESETS:
        cls, config_cls, fields = TAGGER_PRESETS[key]
        config = config_cls.from_dict({**fields, "num_classes": num_classes, **overrides})
        return cls(config)
    if key == "phat" or key.startswith("phat-"):
        preset = key.split("-", 1)[1] if "-" in key else "small"
        if preset in PRESETS:
            return PHATJeT(PHATJeTConfig.preset(preset, num_classes=num_classes, **overrides))
    known = [*sorted(TAGGER_PRESETS), "phat", *(f"phat-{p}" for p in PRESETS)]
    msg = f"name: unknown tagger {name!r}; expected one of {known}"
    raise ValueError(msg)

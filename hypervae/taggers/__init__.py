"""Jet classifiers: the jet-free Particle Transformer and PHAT-JeT, training and metrics.

Example:
    >>> import torch
    >>> from hypervae.taggers import ParticleTransformer
    >>> model = ParticleTransformer({"num_classes": 2, "embed_dim": 16, "num_heads": 2,
    ...     "mlp_dim": 32, "num_layers": 1}).eval()
    >>> p4 = torch.tensor([[[50.0, 30, 0, 40], [20.0, 0, 20, 1]]], dtype=torch.float64)
    >>> model(p4, torch.tensor([[True, True]])).shape
    torch.Size([1, 2])
"""

from .baselines import *
from .baselines import __all__ as _baselines_all
from .features import *
from .features import __all__ as _features_all
from .flops import *
from .flops import __all__ as _flops_all
from .gmp import *
from .gmp import __all__ as _gmp_all
from .io import *
from .io import __all__ as _io_all
from .metrics import *
from .metrics import __all__ as _metrics_all
from .particle_transformer import *
from .particle_transformer import __all__ as _part_all
from .patch_attention import *
from .patch_attention import __all__ as _patch_all
from .phat import *
from .phat import __all__ as _phat_all
from .presets import *
from .presets import __all__ as _presets_all
from .ranger import *
from .ranger import __all__ as _ranger_all
from .toy import *
from .toy import __all__ as _toy_all
from .training import *
from .training import __all__ as _training_all

__all__ = [
    *_features_all,
    *_gmp_all,
    *_io_all,
    *_metrics_all,
    *_part_all,
    *_patch_all,
    *_phat_all,
    *_ranger_all,
    *_toy_all,
    *_training_all,
    *_baselines_all,
    *_flops_all,
    *_presets_all,
]
__all__ = list(dict.fromkeys(__all__))

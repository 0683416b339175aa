"""Building blocks: L-GATr wrapper, residual MLP, incidence cross-attention, learned prior,
flow-matching velocity fields (set transformer, L-GATr slim).

Example:
    >>> import torch, hypervae as hv
    >>> hv.nn.ResidualMLP(5, 8)(torch.zeros(2, 5)).shape
    torch.Size([2, 8])
"""

from .fusion import *
from .fusion import __all__ as _fusion_all
from .lgatr import *
from .lgatr import __all__ as _lgatr_all
from .lgatr_velocity import *
from .lgatr_velocity import __all__ as _lgatr_velocity_all
from .mlp import *
from .mlp import __all__ as _mlp_all
from .prior import *
from .prior import __all__ as _prior_all
from .velocity_field import *
from .velocity_field import __all__ as _velocity_field_all

__all__ = [
    *_lgatr_all,
    *_mlp_all,
    *_fusion_all,
    *_prior_all,
    *_velocity_field_all,
    *_lgatr_velocity_all,
]

"""Losses for set generation, reusable outside hypervae.

Example:
    >>> import torch, hypervae as hv
    >>> x = torch.randn(2, 5, 4)
    >>> float(hv.losses.chamfer_distance(x, x))
    0.0
"""

from .chamfer import *
from .chamfer import __all__ as _chamfer_all
from .eec import *
from .eec import __all__ as _eec_all
from .existence import *
from .existence import __all__ as _existence_all
from .flow_matching import *
from .flow_matching import __all__ as _flow_matching_all
from .jet import *
from .jet import __all__ as _jet_all
from .kl import *
from .kl import __all__ as _kl_all

__all__ = [*_chamfer_all, *_eec_all, *_existence_all, *_flow_matching_all, *_jet_all, *_kl_all]

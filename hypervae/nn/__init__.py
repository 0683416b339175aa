"""Building blocks, one per file: L-GATr wrapper, MLPs, fusion attention, learned prior,
and the taggers' masked attention blocks (pair-bias attention, class attention, patch
attention, geometric message passing, conditional positional encoding, sequence pooling).

Every tagger block takes a boolean ``mask`` (``True`` = real token) and ignores padded
tokens exactly: they are excluded as attention keys and from pooling, and their outputs
are zero, so changing or appending padding leaves real outputs unchanged.

Example:
    >>> import torch, hypervae as hv
    >>> hv.nn.ResidualMLP(5, 8)(torch.zeros(2, 5)).shape
    torch.Size([2, 8])
"""

from .attention import *
from .attention import __all__ as _attention_all
from .attention_block import *
from .attention_block import __all__ as _attention_block_all
from .class_attention import *
from .class_attention import __all__ as _class_attention_all
from .feedforward import *
from .feedforward import __all__ as _feedforward_all
from .fusion import *
from .fusion import __all__ as _fusion_all
from .gmp import *
from .gmp import __all__ as _gmp_all
from .lgatr import *
from .lgatr import __all__ as _lgatr_all
from .lgatr_velocity import *
from .lgatr_velocity import __all__ as _lgatr_velocity_all
from .masked import *
from .masked import __all__ as _masked_all
from .mlp import *
from .mlp import __all__ as _mlp_all
from .pair_embedding import *
from .pair_embedding import __all__ as _pair_embedding_all
from .patch_attention import *
from .patch_attention import __all__ as _patch_attention_all
from .positional import *
from .positional import __all__ as _positional_all
from .prior import *
from .prior import __all__ as _prior_all
from .sequence_pool import *
from .sequence_pool import __all__ as _sequence_pool_all
from .velocity_field import *
from .velocity_field import __all__ as _velocity_field_all

__all__ = [
    *_lgatr_all,
    *_mlp_all,
    *_fusion_all,
    *_prior_all,
    *_attention_all,
    *_attention_block_all,
    *_class_attention_all,
    *_feedforward_all,
    *_gmp_all,
    *_masked_all,
    *_pair_embedding_all,
    *_patch_attention_all,
    *_positional_all,
    *_sequence_pool_all,
    *_velocity_field_all,
    *_lgatr_velocity_all,
]

"""Featurisation of jets on awkward arrays and ``vector``.

Torch-free, except :func:`~hypervae.physics.pairwise.pairwise_features_torch`, which
imports torch when called. ``hv.physics.eec`` is the histogram function; the module
is ``hypervae.physics.eec``.

Example:
    >>> import hypervae as hv
    >>> jets = hv.datasets.load_sample("w", split="test")[:5]
    >>> hv.physics.pairwise(jets).fields
    ['i', 'j', 'w2', 'ln_dr', 'ln_kt', 'ln_z', 'ln_m2']
"""

from .eec import *
from .eec import __all__ as _eec_all
from .kinematics import *
from .kinematics import __all__ as _kinematics_all
from .pairwise import *
from .pairwise import __all__ as _pairwise_all

__all__ = [*_kinematics_all, *_pairwise_all, *_eec_all]

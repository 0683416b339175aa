"""Featurisation of jets on awkward arrays and ``vector``.

Torch-free to import: :func:`~hypervae.physics.pairwise.pairwise_features_torch` imports
torch when called, and the energy-correlator tuples (:mod:`hypervae.physics.tuples`)
work on torch tensors when given them. ``hv.physics.eec`` is the histogram function; the
module is ``hypervae.physics.eec``. Features are computed in float64 from the stored
coordinates, whatever their storage dtype. Energy-correlator weights are normalised to
the kept particles' :math:`p_T` sum unless ``weights="jet"``.

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
from .tuples import *
from .tuples import __all__ as _tuples_all

__all__ = [*_kinematics_all, *_pairwise_all, *_tuples_all, *_eec_all]

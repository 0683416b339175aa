"""Where jets come from: Pythia 8 + FastJet, JetNet files and a shipped real sample.

Examples:
    >>> import hypervae as hv
    >>> jets = hv.datasets.load_sample("t", split="test")
    >>> sorted(jets.fields)[:3]
    ['eta', 'jet_type', 'mass']
"""

from .checks import *
from .checks import __all__ as _checks_all
from .jetnet import *
from .jetnet import __all__ as _jetnet_all
from .jets import *
from .jets import __all__ as _jets_all
from .pythia import *
from .pythia import __all__ as _pythia_all
from .sample import *
from .sample import __all__ as _sample_all

__all__ = [*_jets_all, *_checks_all, *_sample_all, *_jetnet_all, *_pythia_all]

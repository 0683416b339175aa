r"""hypervae: a Lorentz-equivariant hypergraph variational autoencoder for jets.

The package is organised in layers (see ``DESIGN.md``): :mod:`hypervae.physics`
(featurisation on awkward arrays and ``vector``), :mod:`hypervae.datasets` (Pythia 8,
JetNet files and a shipped sample of real jets), and the layers built on them.

Example:
    >>> import hypervae as hv
    >>> jets = hv.datasets.load_sample("t", split="test")
    >>> hists = hv.physics.eec(jets[:10], n=2)
    >>> hists.shape
    (10, 40)
"""

__version__ = "0.1.0"

from . import datasets, evaluation, graph, losses, nn, physics, taggers, training
from .model import HyperVAE, HyperVAEConfig

__all__ = [
    "HyperVAE",
    "HyperVAEConfig",
    "__version__",
    "datasets",
    "evaluation",
    "graph",
    "losses",
    "nn",
    "physics",
    "taggers",
    "training",
]

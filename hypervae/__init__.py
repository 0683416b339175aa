r"""hypervae: a Lorentz-equivariant hypergraph variational autoencoder for jets.

The package is organised in layers (see ``DESIGN.md``): :mod:`hypervae.physics`
(featurisation on awkward arrays and ``vector``), :mod:`hypervae.datasets` (Pythia 8,
JetNet files and a shipped sample of real jets), and the layers built on them.

Subpackages and :class:`HyperVAE` / :class:`HyperVAEConfig` are imported on first use,
so ``import hypervae.physics`` and ``import hypervae.datasets`` do not load torch.

Example:
    >>> import hypervae as hv
    >>> jets = hv.datasets.load_sample("t", split="test")
    >>> hists = hv.physics.eec(jets[:10], n=2)
    >>> hists.shape
    (10, 40)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

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

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from . import datasets, evaluation, graph, losses, nn, physics, taggers, training
    from .model import HyperVAE, HyperVAEConfig

_SUBPACKAGES = frozenset(
    {"datasets", "evaluation", "graph", "losses", "nn", "physics", "taggers", "training"}
)
#: Names re-exported from a module: name -> module (relative to this package).
_FROM_MODULE = {"HyperVAE": ".model", "HyperVAEConfig": ".model"}


def __getattr__(name: str) -> Any:
    """Imports a subpackage or a re-exported class on first access."""
    if name in _SUBPACKAGES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    if name in _FROM_MODULE:
        value = getattr(importlib.import_module(_FROM_MODULE[name], __name__), name)
        globals()[name] = value
        return value
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

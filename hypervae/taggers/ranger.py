"""The Ranger optimiser of the taggers' recipe; it lives in :mod:`hypervae.training.ranger`
(the Trainer builds it for ``optimizer="ranger"``) and is re-exported here."""

from ..training.ranger import Ranger

__all__ = ["Ranger"]

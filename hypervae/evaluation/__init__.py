"""Evaluation of generated jets against real ones.

Example:
    >>> from hypervae.evaluation import classifier_two_sample_test
    >>> callable(classifier_two_sample_test)
    True
"""

from .classifier_test import *
from .classifier_test import __all__ as _classifier_test_all
from .efp import *
from .efp import __all__ as _efp_all
from .metrics import *
from .metrics import __all__ as _metrics_all
from .observables import *
from .observables import __all__ as _observables_all

__all__ = [*_classifier_test_all, *_efp_all, *_metrics_all, *_observables_all]

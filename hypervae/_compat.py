"""Deprecated argument names: :func:`renamed_arguments` keeps old keyword names working.

Example:
    >>> import warnings
    >>> @renamed_arguments(n_max="max_particles")
    ... def pad(max_particles=None):
    ...     return max_particles
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     pad(n_max=3), caught[0].category.__name__
    (3, 'DeprecationWarning')
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["renamed_arguments"]

F = TypeVar("F", bound=Callable[..., Any])


def renamed_arguments(**renamed: str) -> Callable[[F], F]:
    """Accepts each old keyword (``old="new"``) with a :class:`DeprecationWarning`.

    Passing both the old and the new name is a :class:`TypeError` naming both.
    """

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renamed.items():
                if old in kwargs:
                    if new in kwargs:
                        msg = f"{function.__name__}() got both {old!r} (deprecated) and {new!r}"
                        raise TypeError(msg)
                    warnings.warn(
                        f"{function.__name__}({old}=...) is deprecated and will be removed in "
                        f"the next release; use {new}=...",
                        DeprecationWarning,
                        stacklevel=2,
                    )
                    kwargs[new] = kwargs.pop(old)
            return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate

"""Lazy imports of optional dependencies with an actionable message."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require"]


def require(module: str, extra: str, purpose: str = "this feature") -> ModuleType:
    """Imports an optional module or raises an :class:`ImportError` naming the extra.

    Arguments:
        module: The importable module name, e.g. ``"pythia8mc"``.
        extra: The ``hypervae`` extra that installs it, e.g. ``"pythia"``.
        purpose: What the module is needed for, quoted in the message.

    Returns:
        The imported module.

    Examples:
        >>> np = require("numpy", "core")
        >>> np.__name__
        'numpy'
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        msg = (
            f"{purpose} needs the optional dependency `{module}`, which is not installed. "
            f"Install it with `pip install 'hypervae[{extra}]'`."
        )
        raise ImportError(msg) from error

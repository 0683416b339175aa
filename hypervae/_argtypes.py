"""argparse types shared by every ``hypervae`` sub-command (argparse names the option).

Example:
    >>> positive_int("3"), seed_int("7"), positive_float("0.5")
    (3, 7, 0.5)
"""

from __future__ import annotations

import argparse
import math

__all__ = ["MAX_SEED", "positive_float", "positive_int", "seed_int"]

#: Largest accepted seed (numpy's and torch's seeding accept 32-bit unsigned seeds).
MAX_SEED = 2**32 - 1


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        msg = f"expected a positive integer, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if value < 1:
        msg = f"must be >= 1, got {value}"
        raise argparse.ArgumentTypeError(msg)
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0 (``nan``, ``inf``, ``0`` are refused)."""
    try:
        value = float(text)
    except ValueError:
        msg = f"expected a finite number > 0, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if not (math.isfinite(value) and value > 0):
        msg = f"expected a finite number > 0, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def seed_int(text: str) -> int:
    """argparse type: an integer seed in ``[0, 2**32 - 1]``."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= MAX_SEED:
        msg = f"expected an integer seed from 0 to {MAX_SEED}, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value

"""Atomic checkpoint files that load without unpickling code, and the RNG states in them.

A checkpoint is one ``torch.save`` file holding only tensors, containers of tensors and
plain Python values (the model, optimiser, scheduler and scaler state dicts, the torch
RNG states) plus a JSON string ``meta`` for everything else. It is written with
:func:`hypervae._io.atomic_write` and read with :func:`hypervae._io.safe_torch_load`
(``weights_only=True``).
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from .._io import atomic_write, safe_torch_load

__all__ = [
    "CHECKPOINT_FORMAT",
    "atomic_write",
    "load_checkpoint",
    "numpy_rng_from_json",
    "numpy_rng_to_json",
    "python_rng_from_json",
    "python_rng_to_json",
    "save_checkpoint",
]

CHECKPOINT_FORMAT = "hypervae-checkpoint/1"


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Writes ``state`` (tensors, state dicts, a ``meta`` JSON string) atomically.

    The folder is created when missing.

    Examples:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "c.pt"
        >>> _ = save_checkpoint({"w": torch.ones(2), "meta": "{}"}, p)
        >>> load_checkpoint(p)["w"].tolist()
        [1.0, 1.0]
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": CHECKPOINT_FORMAT, **state}
    atomic_write(path, lambda tmp: torch.save(payload, tmp))
    return path


def load_checkpoint(path: str | os.PathLike[str], map_location: str = "cpu") -> dict[str, Any]:
    """Reads a checkpoint with ``weights_only=True`` (never unpickles code).

    Raises:
        FileNotFoundError: No such file (named).
        ValueError: A corrupted, truncated or tampered file, or another format (named).
    """
    path = Path(path)
    if not path.is_file():
        msg = f"no checkpoint file {str(path)!r}"
        raise FileNotFoundError(msg)
    state = safe_torch_load(path, map_location=map_location)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        msg = f"{path}: checkpoint format {found!r}, expected {CHECKPOINT_FORMAT!r}"
        raise ValueError(msg)
    return state


def numpy_rng_to_json() -> dict[str, Any]:
    """numpy's global RNG state as JSON-compatible values."""
    state = cast(tuple[str, np.ndarray, int, int, float], np.random.get_state())  # noqa: NPY002
    name, keys, pos, has_gauss, cached = state
    return {"name": name, "keys": keys.tolist(), "pos": int(pos), "has_gauss": int(has_gauss),
            "cached": float(cached)}  # fmt: skip


def numpy_rng_from_json(s: dict[str, Any]) -> None:
    """Restores numpy's global RNG from :func:`numpy_rng_to_json`."""
    keys = np.array(s["keys"], dtype=np.uint32)
    np.random.set_state((s["name"], keys, s["pos"], s["has_gauss"], s["cached"]))  # noqa: NPY002


def python_rng_to_json() -> list[Any]:
    """Python's ``random`` state as JSON-compatible values."""
    version, internal, gauss = random.getstate()
    return [version, list(internal), gauss]


def python_rng_from_json(s: list[Any]) -> None:
    """Restores Python's ``random`` from :func:`python_rng_to_json`."""
    random.setstate((s[0], tuple(s[1]), s[2]))

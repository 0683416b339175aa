"""Atomic checkpoint files that load without unpickling code.

A checkpoint is one ``torch.save`` file holding only tensors, containers of tensors and
plain Python values (the model, optimiser, scheduler and scaler state dicts, the torch
RNG states) plus a JSON string ``meta`` for everything else. :func:`load_checkpoint`
reads it with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import os
import pickle  # only for its exception type; nothing is unpickled with it
import tempfile
from pathlib import Path
from typing import Any

import torch

__all__ = ["CHECKPOINT_FORMAT", "atomic_write", "load_checkpoint", "save_checkpoint"]

CHECKPOINT_FORMAT = "hypervae-checkpoint/1"


def atomic_write(path: str | os.PathLike[str], write: Any) -> Path:
    """Calls ``write(tmp_path)`` for a temporary file beside ``path``, then renames it.

    Examples:
        >>> d = tempfile.mkdtemp()
        >>> atomic_write(Path(d) / "a.txt", lambda p: Path(p).write_text("x")).read_text()
        'x'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Writes ``state`` (tensors, state dicts, a ``meta`` JSON string) atomically.

    Examples:
        >>> p = Path(tempfile.mkdtemp()) / "c.pt"
        >>> _ = save_checkpoint({"w": torch.ones(2), "meta": "{}"}, p)
        >>> load_checkpoint(p)["w"].tolist()
        [1.0, 1.0]
    """
    payload = {"format": CHECKPOINT_FORMAT, **state}
    return atomic_write(path, lambda tmp: torch.save(payload, tmp))


def load_checkpoint(path: str | os.PathLike[str], map_location: str = "cpu") -> dict[str, Any]:
    """Reads a checkpoint with ``weights_only=True`` (never unpickles code)."""
    path = Path(path)
    if not path.is_file():
        msg = f"no checkpoint file {str(path)!r}"
        raise FileNotFoundError(msg)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        msg = (
            f"{path}: refusing to load: the file holds objects other than tensors and plain "
            f"values (weights_only=True never runs code from a file); not a hypervae "
            f"checkpoint or a tampered one ({str(error).splitlines()[0]})"
        )
        raise ValueError(msg) from error
    except (RuntimeError, EOFError) as error:  # zip archive cut short or damaged
        msg = f"{path}: checkpoint file is corrupted or truncated ({error})"
        raise ValueError(msg) from error
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        msg = f"{path}: format {found!r}, expected {CHECKPOINT_FORMAT!r}"
        raise ValueError(msg)
    return state

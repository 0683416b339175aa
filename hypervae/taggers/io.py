"""Saving and loading trained taggers in the one weights format of hypervae.

A tagger directory holds ``model.safetensors`` and ``config.json`` =
``{"class": ..., "format": 2, "config": {...}}`` (:func:`hypervae._io.save_weights`),
plus ``metrics.json`` when metrics are given. Loading never unpickles code.

Directories written before (``weights.pt`` + ``config.json`` with ``class``, ``config``
and ``metrics``) still load, with a DeprecationWarning saying how to convert them:
``save_tagger(load_tagger(d), d)``.

Example:
    >>> import tempfile
    >>> from hypervae.taggers import build_tagger
    >>> model = build_tagger("phat", 2, dims=(8,), depths=(1,), num_heads=(2,))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = save_tagger(model, d, metrics={"accuracy": 0.5})
    ...     again = load_tagger(d)
    >>> type(again).__name__, again.config == model.config
    ('PHATJeT', True)
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

from torch import nn

from .._io import (
    atomic_write,
    load_weights,
    read_config_json,
    resolve_device,
    safe_torch_load,
    save_weights,
)
from .particle_transformer import ParticleTransformer
from .phat import PHATJeT

__all__ = ["load_tagger", "save_tagger"]

_CLASSES: dict[str, type[nn.Module]] = {
    "ParticleTransformer": ParticleTransformer,
    "PHATJeT": PHATJeT,
}
METRICS_NAME = "metrics.json"
#: The weights file of the old (format 1) tagger directories.
LEGACY_WEIGHTS_NAME = "weights.pt"


def save_tagger(
    model: nn.Module, directory: str | os.PathLike[str], metrics: dict[str, Any] | None = None
) -> Path:
    """Writes ``model.safetensors``, ``config.json`` (class + config) and ``metrics.json``."""
    name = type(model).__name__
    if name not in _CLASSES:
        msg = f"save_tagger: unsupported model class {name}; expected one of {sorted(_CLASSES)}"
        raise TypeError(msg)
    config: dict[str, Any] = getattr(model, "config").to_dict()  # noqa: B009
    path = save_weights(directory, model.state_dict(), name, config)
    if metrics is not None:
        atomic_write(path / METRICS_NAME, json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    return path


def load_tagger(directory: str | os.PathLike[str], device: str | None = None) -> nn.Module:
    """Inverse of :func:`save_tagger`; returns the model in eval mode on ``device`` (cpu).

    Raises:
        FileNotFoundError: No ``config.json`` in ``directory``.
        ValueError: An unknown class, a bad config or unreadable weights (the file named).
    """
    directory = Path(directory)
    path = directory / "config.json"
    if not path.is_file():
        msg = f"{path}: no tagger config here"
        raise FileNotFoundError(msg)
    dev = resolve_device(device or "cpu")
    name, values = read_config_json(directory)
    legacy = name is None
    if legacy:  # format 1: {"class", "config", "metrics"} beside weights.pt
        name, values = values.get("class"), values.get("config", {})
    cls = _CLASSES.get(name) if isinstance(name, str) else None
    if cls is None:
        msg = f"{path}: field 'class' is {name!r}; expected one of {sorted(_CLASSES)}"
        raise ValueError(msg)
    model = cls(values)
    if legacy:
        weights = directory / LEGACY_WEIGHTS_NAME
        warnings.warn(
            f"{directory}: an old tagger directory ({LEGACY_WEIGHTS_NAME}); it still loads, "
            f"but convert it to model.safetensors with save_tagger(load_tagger(d), d)",
            DeprecationWarning,
            stacklevel=2,
        )
        state = safe_torch_load(weights)
    else:
        state = load_weights(directory)
    model.load_state_dict(state)
    return model.to(dev).eval()

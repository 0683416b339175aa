"""Saving and loading trained taggers: ``config.json`` plus a weights-only state dict.

Loading uses ``torch.load(..., weights_only=True)``, which never unpickles code.

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
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .particle_transformer import ParticleTransformer
from .phat import PHATJeT

__all__ = ["load_tagger", "save_tagger"]

_CLASSES: dict[str, type[nn.Module]] = {
    "ParticleTransformer": ParticleTransformer,
    "PHATJeT": PHATJeT,
}
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "weights.pt"


def save_tagger(
    model: nn.Module, directory: str | os.PathLike[str], metrics: dict[str, Any] | None = None
) -> Path:
    """Writes ``config.json`` (class, config, optional metrics) and ``weights.pt``."""
    name = type(model).__name__
    if name not in _CLASSES:
        msg = f"save_tagger: unsupported model class {name}; expected one of {sorted(_CLASSES)}"
        raise TypeError(msg)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    record = {"class": name, "config": model.config.to_dict(), "metrics": metrics or {}}
    (directory / CONFIG_NAME).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    torch.save(state, directory / WEIGHTS_NAME)
    return directory


def load_tagger(directory: str | os.PathLike[str], device: str | None = None) -> nn.Module:
    """Inverse of :func:`save_tagger`; returns the model in eval mode."""
    directory = Path(directory)
    path = directory / CONFIG_NAME
    if not path.is_file():
        msg = f"{path}: no tagger config here"
        raise FileNotFoundError(msg)
    record = json.loads(path.read_text())
    cls = _CLASSES.get(record.get("class", ""))
    if cls is None:
        msg = (
            f"{path}: field 'class' is {record.get('class')!r}; expected one of {sorted(_CLASSES)}"
        )
        raise ValueError(msg)
    model = cls(record["config"])
    state = torch.load(directory / WEIGHTS_NAME, map_location=device or "cpu", weights_only=True)
    model.load_state_dict(state)
    return model.to(device or "cpu").eval()

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
import pickle  # only for its exception type; nothing is unpickled with it
import tempfile
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from ._config import ConfigMixin
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
    config = cast(ConfigMixin, model.config)  # every class in _CLASSES has a ConfigMixin config
    record = {"class": name, "config": config.to_dict(), "metrics": metrics or {}}
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    _atomic(directory / WEIGHTS_NAME, lambda tmp: torch.save(state, tmp))
    text = json.dumps(record, indent=2, sort_keys=True) + "\n"
    _atomic(directory / CONFIG_NAME, lambda tmp: Path(tmp).write_text(text))
    return directory


def _atomic(path: Path, write: Any) -> None:
    """``write(tmp)`` to a temporary file beside ``path``, then rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


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
    weights = directory / WEIGHTS_NAME
    try:
        state = torch.load(weights, map_location=device or "cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        msg = (
            f"{weights}: refusing to load: the file holds objects other than tensors "
            f"(weights_only=True never runs code from a file); not saved by save_tagger "
            f"or tampered with ({str(error).splitlines()[0]})"
        )
        raise ValueError(msg) from error
    model.load_state_dict(state)
    return model.to(device or "cpu").eval()

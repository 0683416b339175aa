"""Saving and loading :class:`~hypervae.model.HyperVAE` directories through :mod:`hypervae._io`.

A model directory holds ``model.safetensors`` and ``config.json`` =
``{"class": "HyperVAE", "format": 2, "config": {...}}`` (the older flat ``config.json``,
the config dict alone, as in the shipped models, still loads), and optionally the
``run.json`` and ``normalization.json`` a training run writes beside them.

A ``config.json`` written before the flow decoder existed (``"decoder"`` holding the slot
decoder's L-GATr settings) loads as ``decoder="slots"``, weights and samples unchanged.

Loading checks, in this order, before anything is allocated: the device
(:func:`hypervae._io.resolve_device`), the directory, ``config.json`` (valid JSON, the
class, every value's type, bounds and finiteness via :class:`HyperVAEConfig`); then it
builds the model, reads the weights (never unpickling) and loads them strictly.
"""

from __future__ import annotations

import json
import os
import warnings
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._config import ConfigError
from .._io import load_weights, read_config_json, resolve_device, save_weights
from .config import HyperVAEConfig

if TYPE_CHECKING:
    from .network import HyperVAE

__all__ = ["from_pretrained", "model_directory", "save_pretrained"]

#: The class name written into ``config.json``.
CLASS_NAME = "HyperVAE"


def save_pretrained(model: HyperVAE, directory: str | os.PathLike[str]) -> Path:
    """Writes ``config.json`` (format 2) and ``model.safetensors`` atomically."""
    return save_weights(directory, model.state_dict(), CLASS_NAME, model.config.to_dict())


def model_directory(name_or_path: str | os.PathLike[str]) -> Path:
    """The directory of a model: ``name_or_path`` itself or a shipped model's folder.

    Raises:
        FileNotFoundError: Neither a directory nor a shipped model's name.
    """
    path = Path(name_or_path)
    if path.is_dir():
        return path
    shipped = resources.files("hypervae").joinpath("pretrained").joinpath(str(name_or_path))
    if not shipped.is_dir():
        msg = f"no model directory {str(name_or_path)!r} and no shipped model of that name"
        raise FileNotFoundError(msg)
    return Path(str(shipped))


def read_config(path: Path) -> HyperVAEConfig:
    """The checked :class:`HyperVAEConfig` of a model directory (nothing allocated).

    Raises:
        FileNotFoundError: No ``config.json``.
        ValueError: Invalid JSON, another class, or a refused value (names the file and
            the field).
    """
    name, values = read_config_json(path)
    file = path / "config.json"
    if name is not None and name != CLASS_NAME:
        msg = f"{file}: holds a {name}, not a {CLASS_NAME}"
        raise ValueError(msg)
    try:
        with warnings.catch_warnings():
            # directories written before the flow decoder hold the slot decoder's L-GATr
            # settings under "decoder": they load as decoder="slots", without a warning
            warnings.simplefilter("ignore", DeprecationWarning)
            return HyperVAEConfig.from_dict(values)
    except ConfigError as error:
        msg = f"{file}: {error}"
        raise ValueError(msg) from None
    except RecursionError:
        msg = f"{file}: nested too deeply"
        raise ValueError(msg) from None


def from_pretrained(
    name_or_path: str | os.PathLike[str], device: str = "cpu", cls: type[HyperVAE] | None = None
) -> HyperVAE:
    """Loads a model saved by :meth:`HyperVAE.save_pretrained` or shipped under ``name``.

    Strict: missing or unexpected weights are an error. Never unpickles. The model is
    returned in eval mode, in the precision its weights were saved in.

    Arguments:
        name_or_path: A model directory or the name of a shipped model.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
        cls: The class to build (a subclass of :class:`HyperVAE`).

    Raises:
        FileNotFoundError: No such directory or shipped model, or a file missing.
        ValueError: A bad device, ``config.json`` or ``model.safetensors`` (named).
    """
    from .network import HyperVAE

    kind = HyperVAE if cls is None else cls
    target = resolve_device(device)
    path = model_directory(name_or_path)
    config = read_config(path)
    if not (path / "model.safetensors").is_file():
        msg = f"{path}: no model.safetensors (a model directory holds config.json and model.safetensors)"
        raise FileNotFoundError(msg)
    model = kind(config)
    state = load_weights(path, "cpu")
    dtypes = {v.dtype for v in state.values() if v.is_floating_point()}
    if len(dtypes) == 1:  # keep the precision the weights were saved in
        model = model.to(dtypes.pop())
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        msg = f"{path}: model.safetensors does not match config.json: {error}"
        raise ValueError(msg) from None
    _attach_run_files(model, path)
    return model.to(target).eval()


def _attach_run_files(model: HyperVAE, path: Path) -> None:
    """Keeps the graph settings and edge normalisation of a training run, when present.

    They are what :meth:`HyperVAE.reconstruct` builds input graphs with; a file that
    does not parse is ignored (it is not needed to sample).
    """
    from ..graph.config import HypergraphConfig
    from ..graph.normalization import GraphNormalization

    graph_config: Any = None
    normalization: Any = None
    try:
        run = json.loads((path / "run.json").read_text())
        graph_config = HypergraphConfig.from_dict(run.get("graph", {}))
    except (OSError, ValueError, TypeError, AttributeError, RecursionError):
        graph_config = None
    try:
        norm = GraphNormalization.from_dict(json.loads((path / "normalization.json").read_text()))
        keep = [k for k in ("edge_attr", "hyperedge_attr") if k in norm.mean]
        normalization = GraphNormalization(
            mean={k: list(norm.mean[k]) for k in keep},
            std={k: list(norm.std[k]) for k in keep},
            count={k: norm.count[k] for k in keep if k in norm.count},
        )
    except (OSError, ValueError, TypeError, AttributeError, KeyError, RecursionError):
        normalization = None
    model.graph_config = graph_config
    model.edge_normalization = normalization

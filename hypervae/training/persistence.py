"""What the :class:`~hypervae.training.Trainer` saves and restores: checkpoints (the full
training state, for an exact resume) and model directories (``best/``, ``final/``).

A model with ``save_pretrained`` (the :class:`~hypervae.HyperVAE`) saves itself; any other
model (the taggers) is saved with :func:`hypervae._io.save_weights` as
``model.safetensors`` + ``config.json`` naming its class.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from .._io import atomic_write, save_weights
from .checkpoint import (
    load_checkpoint,
    numpy_rng_from_json,
    numpy_rng_to_json,
    python_rng_from_json,
    python_rng_to_json,
    save_checkpoint,
)

if TYPE_CHECKING:
    from .trainer import Trainer

__all__ = ["config_dict", "load_trainer_state", "save_model_dir", "trainer_state"]


def config_dict(model: nn.Module) -> dict[str, Any] | None:
    """The model's config as a dict (``None`` when the model has no config)."""
    cfg = getattr(model, "config", None)
    to_dict = getattr(cfg, "to_dict", None)
    return None if to_dict is None else dict(to_dict())


def _meta(t: Trainer) -> dict[str, Any]:
    return {
        "epoch": t.epoch,
        "step": t.step,
        "best": t.best if math.isfinite(t.best) else None,
        "bad_epochs": t.bad_epochs,
        "stopped_early": t.stopped_early,
        "history": t.history,
        "world_size": t.world_size,
        "training": t.config.to_dict(),
        "model": config_dict(t.model),
        "model_class": type(t.model).__name__,
        "normalization": t.normalization.to_dict() if t.normalization is not None else None,
        "numpy_rng": numpy_rng_to_json(),
        "python_rng": python_rng_to_json(),
        "nonfinite_skips": t.nonfinite_skips,
        "position": t._position,
    }


def trainer_state(t: Trainer) -> dict[str, Any]:
    """Everything :func:`load_trainer_state` needs to continue exactly."""
    rng = {"torch": torch.get_rng_state()}
    if t.device.type == "cuda":
        rng["cuda"] = torch.cuda.get_rng_state(t.device)
    return {
        "model": {k: v.detach().cpu() for k, v in t.model.state_dict().items()},
        "optimizer": t.optimizer.state_dict(),
        "scheduler": t.scheduler.state_dict(),
        "scaler": t.scaler.state_dict(),
        **({"ema": t.ema.state_dict()} if t.ema is not None else {}),
        "rng": rng,
        "meta": json.dumps(_meta(t)),
    }


def load_trainer_state(t: Trainer, state: dict[str, Any]) -> None:
    """Restores model, optimiser, scheduler, scaler, RNG states, epoch and step."""
    meta = json.loads(state["meta"])
    mine = config_dict(t.model)
    theirs = meta.get("model")
    if theirs != mine:
        keys = set(theirs or {}) | set(mine or {})
        diff = sorted(k for k in keys if (theirs or {}).get(k) != (mine or {}).get(k))
        msg = f"checkpoint model config differs from this model's in {diff}"
        raise ValueError(msg)
    if meta.get("world_size", 1) != t.world_size:
        msg = (
            f"checkpoint was written with world_size={meta.get('world_size')}, "
            f"resuming with {t.world_size}: the data order would differ"
        )
        raise ValueError(msg)
    t.model.load_state_dict(state["model"], strict=True)
    t.optimizer.load_state_dict(state["optimizer"])
    t.scheduler.load_state_dict(state["scheduler"])
    t.scaler.load_state_dict(state["scaler"])
    if t.ema is not None:
        if "ema" not in state:
            msg = "checkpoint has no EMA weights but TrainingConfig.ema_decay is set"
            raise ValueError(msg)
        t.ema.load_state_dict(state["ema"])
    torch.set_rng_state(state["rng"]["torch"])
    if "cuda" in state["rng"] and t.device.type == "cuda":
        torch.cuda.set_rng_state(state["rng"]["cuda"], t.device)
    numpy_rng_from_json(meta["numpy_rng"])
    python_rng_from_json(meta["python_rng"])
    t.epoch, t.step = int(meta["epoch"]), int(meta["step"])
    t.best = math.inf if meta["best"] is None else float(meta["best"])
    t.bad_epochs = int(meta["bad_epochs"])
    t.stopped_early = bool(meta["stopped_early"])
    t.history = list(meta["history"])
    t.nonfinite_skips = int(meta.get("nonfinite_skips", 0))
    t._position = meta.get("position")
    t.resumed_step = t.step


def resume(t: Trainer, path: str | Path | None) -> None:
    """Loads a checkpoint (default ``save_dir/checkpoints/last.pt``) into ``t``."""
    if path is None:
        if t.save_dir is None:
            msg = "resume: give a checkpoint path or a save_dir"
            raise ValueError(msg)
        path = t.save_dir / "checkpoints" / "last.pt"
    load_trainer_state(t, load_checkpoint(path))


def save_epoch(t: Trainer, improved: bool) -> None:
    """Writes ``last.pt``, the periodic and ``best`` checkpoints and ``best/`` (rank 0)."""
    if t.save_dir is None or t.rank != 0:
        return
    state = trainer_state(t)
    folder = t.save_dir / "checkpoints"
    save_checkpoint(state, folder / "last.pt")
    every = t.config.checkpoint_every
    if every and t.epoch % every == 0:
        save_checkpoint(state, folder / f"epoch-{t.epoch:04d}.pt")
    if improved:
        with t.averaged():  # best/ and best.pt's weights are the averaged ones under EMA
            best = dict(state, model={k: v.detach().cpu() for k, v in t.model.state_dict().items()})
            save_model_dir(t, t.save_dir / "best")
        save_checkpoint(best, folder / "best.pt")


def best_weights(t: Trainer) -> dict[str, torch.Tensor] | None:
    """The weights of the best epoch: kept in memory, else ``checkpoints/best.pt``."""
    if t._best_state is not None:
        return t._best_state
    if t.save_dir is not None and (t.save_dir / "checkpoints" / "best.pt").is_file():
        state: dict[str, torch.Tensor] = load_checkpoint(t.save_dir / "checkpoints" / "best.pt")[
            "model"
        ]
        return state
    return None


def save_model_dir(t: Trainer, directory: str | Path) -> Path:
    """The model directory plus ``normalization.json`` and ``run.json`` (when known)."""
    from ..model import HyperVAEConfig
    from .config import RunConfig

    model = t.model
    save = getattr(model, "save_pretrained", None)
    if save is not None:
        path = Path(save(directory))
    else:
        state = dict(model.state_dict())
        path = save_weights(directory, state, type(model).__name__, config_dict(model) or {})
    if t.normalization is not None:
        text = json.dumps(t.normalization.to_dict(), indent=1)
        atomic_write(path / "normalization.json", text)
    if t.run_config is not None:
        run = t.run_config.to_dict()
    elif isinstance(model_config := getattr(model, "config", None), HyperVAEConfig):
        run = RunConfig(model=model_config, training=t.config).to_dict()
    else:
        run = {"training": t.config.to_dict()}
    atomic_write(path / "run.json", json.dumps(run, indent=2, sort_keys=True))
    return path

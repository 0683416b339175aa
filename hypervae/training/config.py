"""Training configuration: :class:`TrainingConfig` and the YAML run file (:class:`RunConfig`).

A run file has up to three top-level sections, each a nested config::

    model:     # HyperVAEConfig
      max_particles: 30
      latent_dim: 16
    graph:     # HypergraphConfig (used when --data is jets, not a graph dataset)
      budget: knn
      k: 4
    training:  # TrainingConfig
      lr: 1.0e-3
      max_epochs: 50

Both classes derive from :class:`hypervae._config.Config`: frozen, checked at
construction, and an unknown key or a bad value at any level is a
:class:`~hypervae._config.ConfigError` whose message starts with the dotted path
(``RunConfig.training.lr: must be > 0, got 0.0``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .._config import Config, ConfigError, bounded
from ..graph.config import HypergraphConfig
from ..model import HyperVAEConfig

__all__ = [
    "MAX_SEED",
    "NONFINITE_MODES",
    "PRECISIONS",
    "RunConfig",
    "TrainingConfig",
    "load_run_config",
]

#: Accepted values of :attr:`TrainingConfig.precision`.
PRECISIONS = ("fp32", "bf16", "fp16")
#: Accepted values of :attr:`TrainingConfig.nonfinite`.
NONFINITE_MODES = ("stop", "skip")
#: Largest accepted seed (seeds feed torch, numpy and Python generators).
from .._argtypes import MAX_SEED


def renamed_epochs(cls: type[Config], values: Any) -> Any:
    """Maps the deprecated key ``epochs`` of ``values`` onto ``max_epochs`` (with a warning)."""
    if not isinstance(values, dict) or "epochs" not in values:
        return values
    values = dict(values)
    if "max_epochs" in values:
        msg = f"{cls.__name__}: give max_epochs only ('epochs' is its deprecated old name)"
        raise ConfigError(f"{cls.__name__}.epochs", msg.split(": ", 1)[1])
    warnings.warn(
        f"{cls.__name__}: the key 'epochs' is deprecated; use 'max_epochs'",
        DeprecationWarning,
        stacklevel=5,
    )
    values["max_epochs"] = values.pop("epochs")
    return values


def auto_device(config: Config) -> None:
    """Turns a deprecated ``device=None`` into ``"auto"`` (with a warning)."""
    if getattr(config, "device", "auto") is None:
        warnings.warn(
            f"{type(config).__name__}.device=None is deprecated; use 'auto'",
            DeprecationWarning,
            stacklevel=6,
        )
        object.__setattr__(config, "device", "auto")


@dataclass(frozen=True)
class TrainingConfig(Config):
    """Every setting of :class:`~hypervae.training.Trainer` (frozen; dicts in, JSON out).

    Attributes:
        batch_size: Examples per optimiser micro-batch (per process under DDP).
        max_epochs: Epochs of the whole run (the schedules span them). The old key
            ``epochs`` is accepted by :meth:`from_dict` with a DeprecationWarning.
        lr: Peak learning rate.
        min_lr: Learning rate at the end of the cosine decay (``warmup_cosine``).
        warmup_steps: Optimiser steps of linear warm-up from 0 to ``lr`` (``warmup_cosine``).
        schedule: ``"warmup_cosine"`` (:func:`~.schedules.warmup_cosine`) or
            ``"flat_decay"`` (:func:`~.schedules.flat_then_decay`, the taggers' recipe).
        flat_fraction: ``flat_decay``: fraction of the steps at the peak learning rate.
        final_lr_fraction: ``flat_decay``: learning rate at the last step over the peak.
        optimizer: ``"adamw"`` (no weight decay on biases and norms) or ``"ranger"``
            (:class:`~hypervae.training.ranger.Ranger`, RAdam + Lookahead).
        weight_decay: Weight decay (decoupled for AdamW, L2 for Ranger).
        betas: Adam betas.
        lookahead_k, lookahead_alpha: Ranger's Lookahead period and step size.
        grad_clip: Maximum global gradient norm (``0`` disables clipping; the norm is
            logged either way).
        accumulation_steps: Micro-batches per optimiser step.
        precision: ``"fp32"`` (default: L-GATr wants fp32), ``"bf16"`` (autocast on CPU
            or CUDA) or ``"fp16"`` (CUDA only, with a gradient scaler).
        kl_warmup_epochs: VAE: epochs over which the KL weight rises linearly from 0.
        kl_max_weight: VAE: KL weight after warm-up (multiplies ``loss_weights["kl"]``).
        kl_schedule: VAE: ``"linear"``, ``"cyclic"`` or ``"constant"`` (see
            :func:`hypervae.losses.kl_weight`).
        free_bits: VAE: free bits per latent dimension (when not ``None``, the trained
            model gets a copy of its config with this value; the user's config object
            is never changed).
        tau_initial: VAE: initial Gumbel-softmax temperature.
        tau_final: VAE: floor of the temperature.
        tau_decay: VAE: decay per epoch: ``tau = max(final, initial * decay**epoch)``.
        latent_noise: VAE: standard deviation of Gaussian noise added to ``z`` in training.
        val_tau: VAE: fixed temperature of the validation loss.
        patience: Epochs without improvement of the validation loss before stopping
            (``0`` disables early stopping).
        min_delta: Smallest decrease of the validation loss that counts as improvement.
        restore_best: At the end of :meth:`~hypervae.training.Trainer.fit`, load the
            weights of the epoch with the best validation loss.
        ema_decay: Decay of an exponential moving average of the trainable weights
            (:class:`~hypervae.training.ema.ExponentialMovingAverage`; ``0``: none). When
            set, validation, ``best/`` and the final model use the averaged weights.
        checkpoint_every: Keep a periodic checkpoint every this many epochs (``0``: only
            ``last`` and ``best``).
        checkpoint_every_steps: Also overwrite ``last.pt`` every this many optimiser steps,
            mid-epoch included (``0``: only at the end of each epoch); resuming from a
            mid-epoch checkpoint continues from the next batch exactly.
        nonfinite: What a non-finite loss term or gradient does: ``"stop"`` raises
            :class:`~hypervae.training.NonFiniteError` naming the terms, the step and the
            epoch; ``"skip"`` skips that optimiser step, warns and counts it. Under
            ``precision="fp16"`` non-finite gradients are left to the gradient scaler.
        max_nonfinite_skips: In ``"skip"`` mode, stop once more steps were skipped.
        seed: Seed of shuffling and of the noise drawn in validation (0 to 2**32 - 1).
        num_workers: DataLoader worker processes.
        device: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda[:i]"``
            (``None`` is a deprecated spelling of ``"auto"``).
        progress: Show progress bars.
        tensorboard: Also write TensorBoard events (needs the ``tensorboard`` package).
        log_every: Log training scalars every this many optimiser steps.
        freeze: Parameter-name prefixes (``model.named_parameters()``) frozen for the
            run: not optimised, left exactly as they are. ``"*"`` matches every
            parameter; an entry ``"!prefix"`` keeps the parameters it matches trainable
            (e.g. ``["*", "!particle_decoder."]`` trains the particle decoder alone on
            the frozen latent). A prefix that matches no parameter is an error.

    Examples:
        >>> cfg = TrainingConfig.from_dict({"lr": 3e-4, "max_epochs": 2})
        >>> TrainingConfig.from_json(cfg.to_json()) == cfg
        True
        >>> TrainingConfig(batch_size=0)
        Traceback (most recent call last):
            ...
        hypervae._config.ConfigError: TrainingConfig.batch_size: must be >= 1, got 0
    """

    batch_size: int = bounded(64, ge=1)
    max_epochs: int = bounded(100, ge=1)
    lr: float = bounded(1e-3, gt=0)
    min_lr: float = bounded(1e-5, ge=0)
    warmup_steps: int = bounded(500, ge=0)
    schedule: Literal["warmup_cosine", "flat_decay"] = "warmup_cosine"
    flat_fraction: float = bounded(0.7, ge=0, le=1)
    final_lr_fraction: float = bounded(0.01, gt=0, le=1)
    optimizer: Literal["adamw", "ranger"] = "adamw"
    weight_decay: float = bounded(1e-2, ge=0)
    betas: tuple[float, ...] = (0.9, 0.999)
    lookahead_k: int = bounded(6, ge=1)
    lookahead_alpha: float = bounded(0.5, gt=0, le=1)
    grad_clip: float = bounded(5.0, ge=0)
    accumulation_steps: int = bounded(1, ge=1)
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    kl_warmup_epochs: float = bounded(10.0, ge=0)
    kl_max_weight: float = bounded(1.0, ge=0)
    kl_schedule: Literal["linear", "cyclic", "constant"] = "linear"
    free_bits: float | None = bounded(None, ge=0)
    tau_initial: float = bounded(1.0, gt=0)
    tau_final: float = bounded(0.3, gt=0)
    tau_decay: float = bounded(0.95, gt=0, le=1)
    latent_noise: float = bounded(0.0, ge=0)
    val_tau: float = bounded(0.5, gt=0)
    patience: int = bounded(10, ge=0)
    min_delta: float = bounded(0.0, ge=0)
    restore_best: bool = False
    ema_decay: float = bounded(0.0, ge=0, lt=1)
    checkpoint_every: int = bounded(10, ge=0)
    checkpoint_every_steps: int = bounded(0, ge=0)
    nonfinite: Literal["stop", "skip"] = "stop"
    max_nonfinite_skips: int = bounded(10, ge=0)
    seed: int = bounded(0, ge=0, le=MAX_SEED)
    num_workers: int = bounded(0, ge=0)
    device: str | None = "auto"
    progress: bool = True
    tensorboard: bool = True
    log_every: int = bounded(10, ge=1)
    freeze: tuple[str, ...] = ()

    def validate(self) -> None:
        """Cross-field checks: ``min_lr <= lr``; ``None`` device -> ``"auto"``."""
        if self.schedule == "warmup_cosine" and self.min_lr > self.lr:
            raise self.error("min_lr", f"must not exceed lr ({self.lr}), got {self.min_lr}")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise self.error("betas", f"expected two values in [0, 1), got {list(self.betas)}")
        for i, prefix in enumerate(self.freeze):
            if prefix in ("", "!"):
                raise self.error(f"freeze[{i}]", "expected a parameter-name prefix, got ''")
        auto_device(self)

    @classmethod
    def _from_dict(cls, values: Any, path: str) -> TrainingConfig:
        return super()._from_dict(renamed_epochs(cls, values), path)


@dataclass(frozen=True)
class RunConfig(Config):
    """The three sections of a run file: ``model``, ``graph`` and ``training``.

    Examples:
        >>> run = RunConfig.from_dict({"model": {"latent_dim": 8}, "training": {"lr": 1e-3}})
        >>> run.model.latent_dim, run.training.lr
        (8, 0.001)
        >>> RunConfig.from_dict(run.to_dict()) == run
        True
        >>> RunConfig.from_dict({"training": {"lr": 1, "bogus": 2}})
        Traceback (most recent call last):
            ...
        hypervae._config.ConfigError: RunConfig.training.bogus: unknown key (unknown: ['bogus']); ...
    """

    model: HyperVAEConfig = field(default_factory=HyperVAEConfig)
    graph: HypergraphConfig = field(default_factory=HypergraphConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)

    @classmethod
    def _from_dict(cls, values: Any, path: str) -> RunConfig:
        if isinstance(values, dict):
            values = dict(values)
            for f in dataclasses.fields(cls):
                kind = f.type if isinstance(f.type, type) else _SECTIONS[f.name]
                if f.name in values and not issubclass(kind, Config):
                    values[f.name] = _legacy_section(values[f.name], kind, f"{path}.{f.name}")
        return super()._from_dict(values, path)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict of the three sections."""
        return {f.name: getattr(self, f.name).to_dict() for f in dataclasses.fields(self)}


_SECTIONS: dict[str, type] = {
    "model": HyperVAEConfig,
    "graph": HypergraphConfig,
    "training": TrainingConfig,
}


def _legacy_section(values: Any, kind: type, path: str) -> Any:
    """Builds a section whose class does not derive from :class:`Config` (yet).

    Unknown keys (also in nested dataclass fields) and bad values become a
    :class:`ConfigError` with the dotted path.
    """
    if isinstance(values, kind):
        return values
    if values is None:
        return kind()
    _check_keys(values, kind, path)
    try:
        return kind.from_dict(values)  # type: ignore[attr-defined]
    except ConfigError:
        raise
    except (ValueError, TypeError) as error:
        raise ConfigError(path, str(error)) from None


def _check_keys(values: Any, kind: type, path: str) -> None:
    if not isinstance(values, dict):
        raise ConfigError(path, f"expected a {kind.__name__} or a dict, got {values!r}")
    import typing

    try:
        hints = typing.get_type_hints(kind)
    except Exception:  # noqa: BLE001 - unresolvable annotations: check names only
        hints = {}
    known = sorted(f.name for f in dataclasses.fields(kind))
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"{path}.{key}", f"unknown key; expected some of {known}")
        sub = hints.get(key)
        if (
            isinstance(sub, type)
            and dataclasses.is_dataclass(sub)
            and not issubclass(sub, Config)
            and isinstance(value, dict)
        ):
            _check_keys(value, sub, f"{path}.{key}")


def load_run_config(path: str | os.PathLike[str] | None) -> RunConfig:
    """Reads a YAML (or JSON) run file into a :class:`RunConfig`; ``None`` gives defaults.

    Errors name the file and the dotted path of the key.

    Examples:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "run.yaml"
        >>> _ = p.write_text("training:\\n  lr: 0.002\\n")
        >>> load_run_config(p).training.lr
        0.002
    """
    if path is None:
        return RunConfig()
    path = Path(path)
    if not path.is_file():
        msg = f"config file {str(path)!r} does not exist"
        raise FileNotFoundError(msg)
    text = path.read_text()
    try:
        if path.suffix == ".json":
            values = json.loads(text)
        else:
            import yaml

            values = yaml.safe_load(text)
    except ValueError as error:  # JSONDecodeError
        msg = f"{path}: not valid JSON ({error})"
        raise ValueError(msg) from None
    except Exception as error:  # noqa: BLE001 - yaml's own error types
        msg = f"{path}: not valid YAML ({str(error).splitlines()[0]})"
        raise ValueError(msg) from None
    if values is None:
        return RunConfig()
    if not isinstance(values, dict):
        msg = f"{path}: expected a mapping with model/graph/training sections, got {type(values).__name__}"
        raise ValueError(msg)  # noqa: TRY004 - the CLI reports ValueErrors as config errors
    try:
        return RunConfig.from_dict(values)
    except ConfigError as error:
        raise ConfigError(error.path, f"{error.reason} (in {path})") from None

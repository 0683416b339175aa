"""Training configuration: :class:`TrainingConfig` and the YAML run file (:class:`RunConfig`).

A run file has up to three top-level sections, each mapped onto its dataclass::

    model:     # HyperVAEConfig
      max_particles: 30
      latent_dim: 16
    graph:     # HypergraphConfig (used when --data is jets, not a graph dataset)
      budget: knn
      k: 4
    training:  # TrainingConfig
      lr: 1.0e-3
      max_epochs: 50

Unknown keys at any level are an error that names the key.
"""

from __future__ import annotations

import json
import os
import typing
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from ..graph.config import HypergraphConfig
from ..model import HyperVAEConfig

__all__ = ["NONFINITE_MODES", "PRECISIONS", "RunConfig", "TrainingConfig", "load_run_config"]

#: Accepted values of :attr:`TrainingConfig.precision`.
PRECISIONS = ("fp32", "bf16", "fp16")
#: Accepted values of :attr:`TrainingConfig.nonfinite`.
NONFINITE_MODES = ("stop", "skip")


@dataclass
class TrainingConfig:
    """Every setting of :class:`~hypervae.training.Trainer`; accepts dicts, round-trips JSON.

    Attributes:
        batch_size: Jets per optimiser micro-batch (per process under DDP).
        max_epochs: Epochs of the whole run (the cosine schedule spans them).
        lr: Peak learning rate of AdamW.
        min_lr: Learning rate at the end of the cosine decay.
        warmup_steps: Optimiser steps of linear warm-up from 0 to ``lr``.
        weight_decay: AdamW decoupled weight decay.
        betas: AdamW betas.
        grad_clip: Maximum global gradient norm (``0`` disables clipping; the norm is
            logged either way).
        accumulation_steps: Micro-batches per optimiser step.
        precision: ``"fp32"`` (default: L-GATr wants fp32), ``"bf16"`` (autocast on CPU
            or CUDA) or ``"fp16"`` (CUDA only, with a gradient scaler).
        kl_warmup_epochs: Epochs over which the KL weight rises linearly from 0.
        kl_max_weight: KL weight after warm-up (multiplies ``loss_weights["kl"]``).
        kl_schedule: ``"linear"``, ``"cyclic"`` or ``"constant"`` (see
            :func:`hypervae.losses.kl_weight`).
        free_bits: Free bits per latent dimension (overrides the model config's value
            when not ``None``).
        tau_initial: Initial Gumbel-softmax temperature.
        tau_final: Floor of the temperature.
        tau_decay: Multiplicative decay per epoch: ``tau = max(final, initial * decay**epoch)``.
        latent_noise: Standard deviation of Gaussian noise added to ``z`` in training.
        val_tau: Fixed temperature of the validation loss.
        patience: Epochs without improvement of the validation loss before stopping
            (``0`` disables early stopping).
        min_delta: Smallest decrease of the validation loss that counts as improvement.
        checkpoint_every: Keep a periodic checkpoint every this many epochs (``0``: only
            ``last`` and ``best``).
        checkpoint_every_steps: Also overwrite ``last.pt`` every this many optimiser steps,
            mid-epoch included (``0``: only at the end of each epoch). A mid-epoch
            checkpoint records the position in the epoch, and :meth:`Trainer.resume`
            continues from that batch exactly.
        nonfinite: What a non-finite (NaN or infinite) loss term or gradient does:
            ``"stop"`` raises :class:`~hypervae.training.NonFiniteError` naming the terms,
            the step and the epoch; ``"skip"`` skips that optimiser step (the weights and
            optimiser state are untouched, the schedules move on), warns and counts it.
            Under ``precision="fp16"`` non-finite gradients are left to the gradient scaler.
        max_nonfinite_skips: In ``"skip"`` mode, stop with the error once more than this
            many steps of the run were skipped.
        seed: Seed of parameters' initialisation, shuffling and noise.
        num_workers: DataLoader worker processes.
        device: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda[:i]"``.
        progress: Show progress bars.
        tensorboard: Also write TensorBoard events (needs the ``tensorboard`` package).
        log_every: Log training scalars every this many optimiser steps.

    Examples:
        >>> cfg = TrainingConfig.from_dict({"lr": 3e-4, "max_epochs": 2})
        >>> TrainingConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
        True
    """

    batch_size: int = 64
    max_epochs: int = 100
    lr: float = 1e-3
    min_lr: float = 1e-5
    warmup_steps: int = 500
    weight_decay: float = 1e-2
    betas: tuple[float, float] = (0.9, 0.999)
    grad_clip: float = 5.0
    accumulation_steps: int = 1
    precision: str = "fp32"
    kl_warmup_epochs: float = 10.0
    kl_max_weight: float = 1.0
    kl_schedule: str = "linear"
    free_bits: float | None = None
    tau_initial: float = 1.0
    tau_final: float = 0.3
    tau_decay: float = 0.95
    latent_noise: float = 0.0
    val_tau: float = 0.5
    patience: int = 10
    min_delta: float = 0.0
    checkpoint_every: int = 10
    checkpoint_every_steps: int = 0
    nonfinite: str = "stop"
    max_nonfinite_skips: int = 10
    seed: int = 0
    num_workers: int = 0
    device: str = "auto"
    progress: bool = True
    tensorboard: bool = True
    log_every: int = 10

    def __post_init__(self) -> None:
        self.betas = tuple(float(b) for b in self.betas)  # type: ignore[assignment]
        positive = ("batch_size", "max_epochs", "accumulation_steps", "log_every")
        for name in positive:
            if int(getattr(self, name)) < 1:
                msg = f"TrainingConfig.{name} must be >= 1, got {getattr(self, name)!r}"
                raise ValueError(msg)
        for name in ("lr", "tau_initial", "tau_final", "val_tau"):
            if float(getattr(self, name)) <= 0:
                msg = f"TrainingConfig.{name} must be > 0, got {getattr(self, name)!r}"
                raise ValueError(msg)
        nonneg = ("min_lr", "warmup_steps", "weight_decay", "grad_clip", "kl_warmup_epochs",
                  "kl_max_weight", "latent_noise", "patience", "min_delta", "checkpoint_every",
                  "checkpoint_every_steps", "max_nonfinite_skips", "num_workers")  # fmt: skip
        for name in nonneg:
            if float(getattr(self, name)) < 0:
                msg = f"TrainingConfig.{name} must be >= 0, got {getattr(self, name)!r}"
                raise ValueError(msg)
        if self.min_lr > self.lr:
            msg = f"TrainingConfig.min_lr ({self.min_lr}) must not exceed lr ({self.lr})"
            raise ValueError(msg)
        if not 0 < self.tau_decay <= 1:
            msg = f"TrainingConfig.tau_decay must be in (0, 1], got {self.tau_decay!r}"
            raise ValueError(msg)
        if self.precision not in PRECISIONS:
            msg = f"TrainingConfig.precision must be one of {PRECISIONS}, got {self.precision!r}"
            raise ValueError(msg)
        if self.nonfinite not in NONFINITE_MODES:
            msg = f"TrainingConfig.nonfinite must be 'stop' or 'skip', got {self.nonfinite!r}"
            raise ValueError(msg)
        if self.kl_schedule not in ("linear", "cyclic", "constant"):
            msg = f"TrainingConfig.kl_schedule must be linear, cyclic or constant, got {self.kl_schedule!r}"
            raise ValueError(msg)

    @classmethod
    def from_dict(cls, values: dict[str, Any] | TrainingConfig | None) -> TrainingConfig:
        """Builds a config from a dict; an unknown key is an error naming it."""
        if isinstance(values, TrainingConfig):
            return values
        values = dict(values or {})
        known = {f.name for f in fields(cls)}
        for key in values:
            if key not in known:
                msg = f"unknown TrainingConfig key {key!r}; known keys: {sorted(known)}"
                raise ValueError(msg)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict."""
        out: dict[str, Any] = json.loads(json.dumps(asdict(self)))
        return out


@dataclass
class RunConfig:
    """The three sections of a run file: ``model``, ``graph`` and ``training``.

    Examples:
        >>> run = RunConfig.from_dict({"model": {"latent_dim": 8}, "training": {"lr": 1e-3}})
        >>> run.model.latent_dim, run.training.lr
        (8, 0.001)
        >>> RunConfig.from_dict(run.to_dict()) == run
        True
    """

    model: HyperVAEConfig = field(default_factory=HyperVAEConfig)
    graph: HypergraphConfig = field(default_factory=HypergraphConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> RunConfig:
        """Maps sections onto their dataclasses; unknown sections or keys are errors."""
        values = dict(values or {})
        sections: dict[str, type[HyperVAEConfig | HypergraphConfig | TrainingConfig]] = {
            "model": HyperVAEConfig,
            "graph": HypergraphConfig,
            "training": TrainingConfig,
        }
        for key in values:
            if key not in sections:
                msg = f"unknown run config section {key!r}; expected model, graph, training"
                raise ValueError(msg)
        built: dict[str, Any] = {}
        for name, kind in sections.items():
            section = values.get(name) or {}
            if isinstance(section, kind):
                built[name] = section
                continue
            _check_keys(section, kind, name)
            try:
                built[name] = kind.from_dict(section)
            except (ValueError, TypeError) as error:
                msg = f"run config section {name!r}: {error}"
                raise ValueError(msg) from error
        return cls(**built)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict of the three sections."""
        return {
            "model": self.model.to_dict(),
            "graph": self.graph.to_dict(),
            "training": self.training.to_dict(),
        }


def _check_keys(values: Any, kind: type, section: str) -> None:
    """Refuses a non-mapping or an unknown key, naming the dotted section.

    Recurses into fields whose type is itself a dataclass (``model.encoder``, ...).
    """
    if not isinstance(values, dict):
        msg = f"run config section {section!r} must be a mapping, got {type(values).__name__}"
        raise ValueError(msg)  # noqa: TRY004 - the CLI reports ValueErrors as config errors
    try:
        hints = typing.get_type_hints(kind)
    except Exception:  # noqa: BLE001 - unresolvable annotations: check names only
        hints = {}
    known = {f.name: f for f in fields(kind)}
    for key, value in values.items():
        if key not in known:
            msg = (
                f"unknown key {key!r} in run config section {section!r}; "
                f"known keys: {', '.join(sorted(known))}"
            )
            raise ValueError(msg)
        sub = hints.get(key)
        if isinstance(sub, type) and is_dataclass(sub) and not isinstance(value, sub):
            _check_keys(value, sub, f"{section}.{key}")


def load_run_config(path: str | os.PathLike[str] | None) -> RunConfig:
    """Reads a YAML (or JSON) run file into a :class:`RunConfig`; ``None`` gives defaults.

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
    if path.suffix == ".json":
        values = json.loads(text)
    else:
        try:
            import yaml
        except ImportError as error:  # pragma: no cover - pyyaml is expected
            msg = "reading YAML configs needs pyyaml: pip install pyyaml"
            raise ImportError(msg) from error
        values = yaml.safe_load(text)
    if values is not None and not isinstance(values, dict):
        msg = f"{path}: expected a mapping with model/graph/training sections, got {type(values).__name__}"
        raise ValueError(msg)
    return RunConfig.from_dict(values)

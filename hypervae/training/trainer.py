"""The one :class:`Trainer` of hypervae: a model plus a loss function, for the VAE and
the taggers.

A loss function is ``loss_fn(model, batch, state) -> dict[str, Tensor]`` with a
``"total"`` term (:mod:`~hypervae.training.objective`); the default is
:func:`~hypervae.training.objective.vae_loss`, which calls ``HyperVAE.compute_loss`` at
the annealed KL weight (:func:`hypervae.losses.kl_weight`, warm-up counted in epochs) and
Gumbel temperature (:func:`~.schedules.gumbel_temperature`). The taggers pass their
cross entropy (:func:`hypervae.taggers.train_tagger`).

One optimiser step consumes ``accumulation_steps`` micro-batches of ``batch_size``
examples (per process); the learning rate follows :func:`~.schedules.lr_factor`
(AdamW + warm-up/cosine, or Ranger + flat-then-decay). The validation loss uses the
fixed validation state (KL weight ``kl_max_weight``, temperature ``val_tau``, no latent
noise, ``training=False``) with noise drawn from a fixed seed without touching the
training RNG; early stopping, ``best`` and ``restore_best`` use its ``"total"``.

Under ``torchrun`` (``torch.distributed`` initialised before the Trainer is built), the
loss is computed inside DistributedDataParallel and each global batch of
``batch_size * world_size`` examples is split into equal contiguous parts, one per
rank, so that training matches one process with the larger batch. Rank 0 logs and
writes files.

A NaN or infinite loss term or gradient norm stops the run with :class:`NonFiniteError`
naming the terms, the step and the epoch, or (``nonfinite="skip"``) skips that optimiser
step, warns and counts it. With ``checkpoint_every_steps``, ``last.pt`` is also written
mid-epoch with the position in the epoch; resuming from it continues from the next batch
as if never interrupted, and ``metrics.jsonl`` drops what the interrupted run logged
after the checkpoint.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import warnings
from collections.abc import Callable, Sized
from pathlib import Path
from typing import Any, cast

import torch
from torch import Tensor, nn

from .._io import resolve_device
from ..graph.normalization import GraphNormalization
from ..losses.kl import kl_weight as kl_schedule
from . import persistence
from .config import RunConfig, TrainingConfig
from .ema import ExponentialMovingAverage
from .freeze import freeze_parameters
from .logging import MetricsLogger
from .objective import LossFn, LossModule, TrainState, batch_length, move_to, vae_loss
from .sampler import EpochBatchSampler, make_loader
from .schedules import gumbel_temperature, lr_factor
from .steps import NonFiniteError, all_reduce_mean, optimizer_step, scalar

__all__ = ["EpochBatchSampler", "NonFiniteError", "Trainer"]


class Trainer:
    """Trains a model with a loss function (by default a :class:`~hypervae.HyperVAE`).

    Arguments:
        model: The model (a HyperVAE's ``config.norm`` should be fitted on the training jets).
        train_data: Training examples: hypergraphs for the VAE, or a dataset with a
            ``collate`` method (e.g. :class:`hypervae.taggers.TaggerData`).
        val_data: Validation examples, or ``None`` (then the training epoch mean is the
            early-stopping criterion).
        config: :class:`~.config.TrainingConfig` or a dict.
        save_dir: Where checkpoints, ``best/``, ``final/`` and ``metrics.jsonl`` go
            (``None``: nothing is written).
        normalization: The graph normalisation, stored next to saved models.
        run_config: The whole run (model/graph/training), stored next to saved models.
        loss_fn: ``(model, batch, state) -> {"total": ..., ...}``; default
            :func:`~hypervae.training.objective.vae_loss`.
        collate_fn: Turns what the dataset yields for a list of indices into a batch
            (default: the dataset's ``collate``, else torch_geometric's batching).
        on_epoch: Called with each epoch's record.

    Examples:
        >>> import hypervae as hv, numpy as np
        >>> p4 = hv.physics.ptetaphim_to_cartesian([[50.0, 30, 20]] * 4, [[0.0, 0.1, 0]] * 4,
        ...                                        [[0.0, 0, 0.1]] * 4)
        >>> jets = hv.datasets.make_jets(hv.physics.from_padded(p4, np.ones((4, 3), bool)), "t")
        >>> graphs = hv.graph.build_hypergraphs(jets, {"budget": "knn", "k": 2})
        >>> model = hv.HyperVAE({"max_particles": 4, "latent_dim": 2, "hidden": 8})
        >>> trainer = Trainer(model, graphs, config={"batch_size": 2, "max_epochs": 1,
        ...                   "progress": False, "warmup_steps": 0})
        >>> len(trainer.fit()), trainer.step
        (1, 2)
    """

    def __init__(
        self,
        model: nn.Module,
        train_data: Sized,
        val_data: Sized | None = None,
        config: TrainingConfig | dict[str, Any] | None = None,
        save_dir: str | Path | None = None,
        normalization: GraphNormalization | None = None,
        run_config: RunConfig | None = None,
        *,
        loss_fn: LossFn | None = None,
        collate_fn: Callable[[Any], Any] | None = None,
        on_epoch: Callable[[dict[str, float]], None] | None = None,
    ) -> None:
        self.config = cfg = TrainingConfig.coerce(config)
        self.save_dir = Path(save_dir) if save_dir is not None else None
        self.normalization = normalization
        self.run_config = run_config
        self.loss_fn: LossFn = loss_fn or vae_loss
        self.on_epoch = on_epoch
        self.device = resolve_device(cfg.device)
        if cfg.precision == "fp16" and self.device.type != "cuda":
            msg = "TrainingConfig.precision 'fp16' needs CUDA; use 'bf16' or 'fp32' on CPU"
            raise ValueError(msg)
        self.distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
        self.rank = torch.distributed.get_rank() if self.distributed else 0
        self.world_size = torch.distributed.get_world_size() if self.distributed else 1
        model_cfg: Any = getattr(model, "config", None)
        if cfg.free_bits is not None and hasattr(model_cfg, "free_bits"):
            # a changed copy for this model: the user's config object is left as it is
            if hasattr(model_cfg, "replace"):
                new_cfg = model_cfg.replace(free_bits=float(cfg.free_bits))
            else:
                new_cfg = dataclasses.replace(model_cfg, free_bits=float(cfg.free_bits))
            setattr(model, "config", new_cfg)  # noqa: B010
        self.model = model.to(self.device)
        #: names of the parameters frozen for this run (``TrainingConfig.freeze``)
        self.frozen = freeze_parameters(self.model, cfg.freeze)
        self.loss_module: nn.Module = LossModule(self.model, self.loss_fn)
        if self.distributed:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index or 0] if self.device.type == "cuda" else None
            self.loss_module = DistributedDataParallel(self.loss_module, device_ids=ids)
        self.train_data, self.val_data = train_data, val_data
        if not len(train_data):
            msg = "train_data: the dataset is empty (need at least one example)"
            raise ValueError(msg)
        self.train_sampler = EpochBatchSampler(
            len(train_data), cfg.batch_size, True, cfg.seed, self.rank, self.world_size
        )
        # a private generator: creating the loader's iterator then draws no number from
        # the global RNG, so a resume mid-epoch continues the RNG stream exactly
        self._loader_generator = torch.Generator()
        self.train_loader = make_loader(
            train_data, self.train_sampler, cfg.num_workers, self._loader_generator, collate_fn
        )
        self.val_loader = None
        if val_data is not None and len(val_data):
            sampler = EpochBatchSampler(
                len(val_data), cfg.batch_size, False, 0, self.rank, self.world_size
            )
            self.val_loader = make_loader(val_data, sampler, cfg.num_workers, None, collate_fn)
        self.steps_per_epoch = math.ceil(len(self.train_sampler) / cfg.accumulation_steps)
        self.total_steps = self.steps_per_epoch * cfg.max_epochs
        self.optimizer = self._build_optimizer()
        #: the averaged weights (``TrainingConfig.ema_decay``), or ``None``
        self.ema = ExponentialMovingAverage(self.model, cfg.ema_decay) if cfg.ema_decay else None
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: lr_factor(cfg, s, self.total_steps)
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=cfg.precision == "fp16")
        self.epoch = 0
        self.step = 0
        self.best = math.inf
        self.bad_epochs = 0
        self.stopped_early = False
        self.history: list[dict[str, float]] = []
        self.logger: MetricsLogger | None = None
        self.nonfinite_skips = 0
        #: the step of the checkpoint this trainer resumed from (None: a fresh run)
        self.resumed_step: int | None = None
        # position inside the current epoch (micro-batches done, partial sums) while a
        # mid-epoch checkpoint is written or after one is loaded; None at epoch boundaries
        self._position: dict[str, Any] | None = None
        self._best_state: dict[str, Tensor] | None = None

    def _build_optimizer(self) -> torch.optim.Optimizer:
        cfg = self.config
        params = [p for p in self.model.parameters() if p.requires_grad]
        if cfg.optimizer == "ranger":
            from .ranger import Ranger

            return Ranger(
                params, lr=cfg.lr, weight_decay=cfg.weight_decay,
                k=cfg.lookahead_k, alpha=cfg.lookahead_alpha,
            )  # fmt: skip
        decay = [p for p in params if p.ndim >= 2]
        no_decay = [p for p in params if p.ndim < 2]
        groups = [
            {"params": decay, "weight_decay": cfg.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=cast(Any, cfg.betas))

    # ------------------------------------------------------------------ schedules
    def kl_weight(self, step: int | None = None) -> float:
        """KL weight at an optimiser step (default: the current one)."""
        cfg = self.config
        warmup = round(cfg.kl_warmup_epochs * self.steps_per_epoch)
        s = self.step if step is None else step
        return kl_schedule(s, warmup, cfg.kl_max_weight, cfg.kl_schedule)

    def temperature(self, step: int | None = None) -> float:
        """Gumbel temperature at an optimiser step (default: the current one)."""
        cfg = self.config
        s = self.step if step is None else step
        return gumbel_temperature(
            s / self.steps_per_epoch, cfg.tau_initial, cfg.tau_final, cfg.tau_decay
        )

    def state(self, training: bool = True) -> TrainState:
        """The :class:`~.objective.TrainState` handed to the loss function now."""
        cfg = self.config
        state = TrainState(
            step=self.step,
            epoch=self.epoch,
            epochs=self.step / self.steps_per_epoch,
            lr=float(self.optimizer.param_groups[0]["lr"]),
        )
        if not training:
            return dataclasses.replace(state, training=False, kl_weight=cfg.kl_max_weight,
                                       tau=cfg.val_tau, latent_noise=0.0)  # fmt: skip
        return dataclasses.replace(state, kl_weight=self.kl_weight(), tau=self.temperature(),
                                   latent_noise=cfg.latent_noise)  # fmt: skip

    def _autocast(self) -> Any:
        prec = self.config.precision
        if prec == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if prec == "bf16" else torch.float16
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    # ------------------------------------------------------------------ training
    def _train_epoch(self) -> dict[str, float]:
        cfg = self.config
        self.model.train()
        start, sums, count = 0, {}, 0
        if self._position is not None:  # resuming mid-epoch
            start = int(self._position["micro"])
            sums = {k: float(v) for k, v in self._position["sums"].items()}
            count = int(self._position["count"])
            self._position = None
        self.train_sampler.set_epoch(self.epoch, start)
        self._loader_generator.manual_seed(cfg.seed * 1_000_003 + self.epoch)
        n_micro = len(self.train_sampler)
        group: dict[str, float] = {}
        bad_terms: list[str] = []
        progress = None
        if cfg.progress and self.rank == 0:
            from tqdm.auto import tqdm

            progress = tqdm(total=n_micro, initial=start, desc=f"epoch {self.epoch}",
                            unit="batch", leave=False)  # fmt: skip
        self.optimizer.zero_grad(set_to_none=True)
        for i, cpu_batch in enumerate(self.train_loader, start=start):
            batch = move_to(cpu_batch, self.device)
            first = (i // cfg.accumulation_steps) * cfg.accumulation_steps
            group_size = min(cfg.accumulation_steps, n_micro - first)
            last_in_group = i == first + group_size - 1
            state = self.state()
            sync = (
                cast(nn.parallel.DistributedDataParallel, self.loss_module).no_sync()
                if self.distributed and not last_in_group
                else contextlib.nullcontext()
            )
            with sync:
                with self._autocast():
                    losses = self.loss_module(batch, state)
                self.scaler.scale(losses["total"].float() / group_size).backward()
            values = {k: scalar(v) for k, v in losses.items()}
            nonfinite = [k for k, v in values.items() if not math.isfinite(v)]
            if nonfinite:
                bad_terms += [k for k in nonfinite if k not in bad_terms]
            else:
                for k, v in values.items():
                    group[k] = group.get(k, 0.0) + v / group_size
                    sums[k] = sums.get(k, 0.0) + v
                count += 1
            if last_in_group:
                norm, stepped = optimizer_step(self, bad_terms)
                if stepped and self.ema is not None:
                    self.ema.update(self.model, self.step + 1)
                with warnings.catch_warnings():
                    # a skipped first step is not the misuse this warning is about
                    warnings.filterwarnings(
                        "ignore", "Detected call of `lr_scheduler.step", UserWarning
                    )
                    self.scheduler.step()
                self.step += 1
                if self.logger is not None and self.step % cfg.log_every == 0 and stepped:
                    scalars = {**group, "lr": state.lr, "tau": state.tau,
                               "kl_weight": state.kl_weight, "grad_norm": norm,
                               "nonfinite_skips": self.nonfinite_skips}  # fmt: skip
                    self.logger.log("train", scalars, self.step, self.epoch)
                group, bad_terms = {}, []
                every = cfg.checkpoint_every_steps
                if every and self.step % every == 0 and i + 1 < n_micro:
                    self._position = {"micro": i + 1, "sums": sums, "count": count}
                    try:
                        self._save_last()
                    finally:
                        self._position = None
            if progress is not None:
                progress.update(1)
                progress.set_postfix(loss=f"{values['total']:.4g}")
        if progress is not None:
            progress.close()
        means = {k: v / max(count, 1) for k, v in sums.items()}
        return all_reduce_mean(self, means, count)

    def averaged(self) -> contextlib.AbstractContextManager[None]:
        """A block in which the model holds its EMA weights (a no-op without EMA)."""
        return self.ema.swapped(self.model) if self.ema is not None else contextlib.nullcontext()

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Validation loss terms, independent of the annealing schedules and the train RNG.

        With ``ema_decay`` the averaged weights are validated.
        """
        if self.val_loader is None:
            return {}
        with self.averaged():
            return self._validate(self.val_loader)

    @torch.no_grad()
    def _validate(self, loader: Any) -> dict[str, float]:
        was_training = self.model.training
        self.model.eval()
        state = self.state(training=False)
        sums: dict[str, float] = {}
        count = 0
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        try:
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(self.config.seed + 12345)
                for cpu_batch in loader:
                    batch = move_to(cpu_batch, self.device)
                    with self._autocast():
                        losses = self.loss_fn(self.model, batch, state)
                    n = batch_length(batch)
                    for k, v in losses.items():
                        sums[k] = sums.get(k, 0.0) + scalar(v) * n
                    count += n
        finally:
            self.model.train(was_training)
        return all_reduce_mean(self, {k: v / max(count, 1) for k, v in sums.items()}, count)

    def fit(self, epochs: int | None = None) -> list[dict[str, float]]:
        """Trains until ``max_epochs``, early stopping, or ``epochs`` more epochs.

        Arguments:
            epochs: Run at most this many epochs in this call (the schedules still span
                ``max_epochs``; use it to interrupt a run that :meth:`resume` continues).

        Returns:
            One record per epoch (this call's and earlier ones after a resume), with
            ``train/<term>``, ``val/<term>``, ``lr``, ``tau`` and ``kl_weight``.
        """
        cfg = self.config
        if self.save_dir is not None and self.rank == 0 and self.logger is None:
            self.logger = MetricsLogger(
                self.save_dir, tensorboard=cfg.tensorboard, resume_step=self.resumed_step
            )
            self.resumed_step = None  # truncated once
        end = cfg.max_epochs if epochs is None else min(cfg.max_epochs, self.epoch + epochs)
        try:
            while self.epoch < end and not self.stopped_early:
                self._run_epoch()
            if self.epoch >= cfg.max_epochs or self.stopped_early:
                if self.ema is not None:
                    self.ema.copy_to(self.model)
                self._restore_best()
            if self.save_dir is not None and self.rank == 0:
                with self.averaged():
                    self.save_model(self.save_dir / "final")
        finally:
            if self.logger is not None:
                self.logger.close()
                self.logger = None
        return self.history

    def _run_epoch(self) -> None:
        cfg = self.config
        train = self._train_epoch()
        val = self.validate()
        record: dict[str, float] = {"epoch": float(self.epoch), "step": float(self.step)}
        record.update({f"train/{k}": v for k, v in train.items()})
        record.update({f"val/{k}": v for k, v in val.items()})
        record.update(lr=self.optimizer.param_groups[0]["lr"], tau=self.temperature(),
                      kl_weight=self.kl_weight(), nonfinite_skips=float(self.nonfinite_skips))  # fmt: skip
        criterion = val.get("total", train.get("total", math.inf))
        improved = criterion < self.best - cfg.min_delta
        if improved:
            self.best, self.bad_epochs = criterion, 0
            if cfg.restore_best:
                with self.averaged():
                    self._best_state = {k: v.detach().cpu().clone()
                                        for k, v in self.model.state_dict().items()}  # fmt: skip
        else:
            self.bad_epochs += 1
        self.epoch += 1
        self.history.append(record)
        if self.logger is not None:
            self.logger.log("epoch", record, self.step, self.epoch - 1)
        if cfg.patience and self.bad_epochs >= cfg.patience:
            self.stopped_early = True
        persistence.save_epoch(self, improved)
        if self.on_epoch is not None:
            self.on_epoch(record)

    def _restore_best(self) -> None:
        if not self.config.restore_best:
            return
        best = persistence.best_weights(self)
        if best is not None:
            self.model.load_state_dict(best)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything :meth:`load_state_dict` needs to continue exactly."""
        return persistence.trainer_state(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores model, optimiser, scheduler, scaler, RNG states, epoch and step."""
        persistence.load_trainer_state(self, state)

    def resume(self, path: str | Path | None = None) -> Trainer:
        """Loads a checkpoint (default ``save_dir/checkpoints/last.pt``); returns ``self``.

        The next :meth:`fit` drops the lines of ``metrics.jsonl`` (and the TensorBoard
        events) logged after the checkpoint's step by the interrupted run.
        """
        persistence.resume(self, path)
        return self

    def _save_last(self) -> None:
        """Writes ``checkpoints/last.pt`` (mid-epoch ones record the position)."""
        if self.save_dir is not None and self.rank == 0:
            from .checkpoint import save_checkpoint

            save_checkpoint(self.state_dict(), self.save_dir / "checkpoints" / "last.pt")

    def save_model(self, directory: str | Path) -> Path:
        """The model directory (``save_pretrained``, or ``model.safetensors`` +
        ``config.json``) plus ``normalization.json`` and ``run.json`` (when known)."""
        return persistence.save_model_dir(self, directory)

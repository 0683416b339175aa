"""The :class:`Trainer`: AdamW, warm-up + cosine, clipping, accumulation, AMP, annealing,
early stopping, atomic checkpoints, exact resume and DistributedDataParallel.

One optimiser step consumes ``accumulation_steps`` micro-batches of ``batch_size`` jets
(per process). Per step the learning rate follows :func:`~.schedules.warmup_cosine`, the
KL weight :func:`hypervae.losses.kl_weight` (warm-up counted in epochs) and the Gumbel
temperature :func:`~.schedules.gumbel_temperature` (a continuous epoch count).

The validation loss is the model's weighted total with the KL weight fixed at its
annealing target ``kl_max_weight``, the temperature fixed at ``val_tau``, no latent noise
and the noise drawn from a fixed seed without touching the training RNG: it does not move
with the annealing schedules, and early stopping and the ``best`` checkpoint use it.

Under ``torchrun`` (``torch.distributed`` initialised before the Trainer is built), the
model is wrapped in DistributedDataParallel and each global batch of
``batch_size * world_size`` jets is split into equal contiguous parts, one per rank, so
that training matches one process with the larger batch. Rank 0 logs and writes files.

A NaN or infinite loss term or gradient norm stops the run with :class:`NonFiniteError`
naming the terms, the step and the epoch, or (``nonfinite="skip"``) skips that optimiser
step, warns and counts it (``nonfinite_skips`` in the logs and the epoch records).
With ``checkpoint_every_steps``, ``last.pt`` is also written mid-epoch, with the position
in the epoch; resuming from it continues from the next batch as if never interrupted.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from ..graph.normalization import GraphNormalization
from ..losses.kl import kl_weight as kl_schedule
from ..model import HyperVAE
from .checkpoint import atomic_write, load_checkpoint, save_checkpoint
from .config import RunConfig, TrainingConfig
from .logging import MetricsLogger
from .schedules import gumbel_temperature, warmup_cosine

__all__ = ["EpochBatchSampler", "NonFiniteError", "Trainer"]


class NonFiniteError(FloatingPointError, ValueError):
    """A loss term or the gradients were NaN or infinite (names them, the step and epoch)."""


class EpochBatchSampler:
    """Batches of indices, reshuffled per epoch from ``(seed, epoch)`` only.

    Each global batch of ``batch_size * world_size`` indices is cut into ``world_size``
    contiguous parts; rank ``r`` gets part ``r``. Batches are never empty: a short last
    global batch is padded from the start of the permutation.

    Examples:
        >>> s = EpochBatchSampler(5, 2, shuffle=False)
        >>> list(s)
        [[0, 1], [2, 3], [4]]
        >>> [list(EpochBatchSampler(4, 1, shuffle=False, rank=r, world_size=2)) for r in (0, 1)]
        [[[0], [2]], [[1], [3]]]
    """

    def __init__(
        self,
        n: int,
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if n < 1:
            msg = "the dataset is empty (need at least one graph)"
            raise ValueError(msg)
        self.n, self.batch_size, self.shuffle, self.seed = n, batch_size, shuffle, seed
        self.rank, self.world_size = rank, world_size
        self.epoch = 0
        self.start = 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Selects the permutation of ``epoch``; iteration begins at batch ``start``."""
        self.epoch, self.start = int(epoch), int(start)

    def __len__(self) -> int:
        return math.ceil(self.n / (self.batch_size * self.world_size))

    def __iter__(self) -> Iterator[list[int]]:
        if self.shuffle:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(self.n, generator=gen).tolist()
        else:
            order = list(range(self.n))
        size = self.batch_size * self.world_size
        for lo in range(self.start * size, self.n, size):
            chunk = order[lo : lo + size]
            while len(chunk) < self.world_size:
                chunk = chunk + order[: self.world_size - len(chunk)]
            per = len(chunk) // self.world_size
            extra = len(chunk) % self.world_size
            start = self.rank * per + min(self.rank, extra)
            yield chunk[start : start + per + (1 if self.rank < extra else 0)]


class _LossModule(nn.Module):
    """Routes ``compute_loss`` through ``forward`` so that DDP sees it."""

    def __init__(self, model: HyperVAE) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: Any, tau: float, kl_weight: float, latent_noise: float) -> Any:
        return self.model.compute_loss(
            batch, tau=tau, kl_weight=kl_weight, latent_noise=latent_noise
        )


def _resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _scalar(value: Any) -> float:
    return float(value.detach()) if isinstance(value, torch.Tensor) else float(value)


class Trainer:
    """Trains a :class:`~hypervae.HyperVAE` on hypergraphs.

    Arguments:
        model: The model (its ``config.norm`` should be fitted on the training jets).
        train_data: Training graphs (a sequence of ``HypergraphData`` with ``y`` in
            physical log units, edge features standardised).
        val_data: Validation graphs, or ``None`` (then the training epoch mean is the
            early-stopping criterion).
        config: :class:`~.config.TrainingConfig` or a dict.
        save_dir: Where checkpoints, ``best/``, ``final/`` and ``metrics.jsonl`` go
            (``None``: nothing is written).
        normalization: The graph normalisation, stored next to saved models.
        run_config: The whole run (model/graph/training), stored next to saved models.

    Examples:
        >>> import hypervae as hv, numpy as np
        >>> p4 = hv.physics.ptetaphim_to_cartesian([[50.0, 30, 20]] * 4, [[0.0, 0.1, 0]] * 4,
        ...                                        [[0.0, 0, 0.1]] * 4)
        >>> jets = hv.datasets.make_jets(hv.physics.from_padded(p4, np.ones((4, 3), bool)), "t")
        >>> graphs = hv.graph.build_hypergraphs(jets, {"budget": "knn", "k": 2})
        >>> model = HyperVAE({"max_particles": 4, "latent_dim": 2, "hidden": 8})
        >>> trainer = Trainer(model, graphs, config={"batch_size": 2, "max_epochs": 1,
        ...                   "progress": False, "warmup_steps": 0})
        >>> len(trainer.fit()), trainer.step
        (1, 2)
    """

    def __init__(
        self,
        model: HyperVAE,
        train_data: Sequence[Any],
        val_data: Sequence[Any] | None = None,
        config: TrainingConfig | dict[str, Any] | None = None,
        save_dir: str | Path | None = None,
        normalization: GraphNormalization | None = None,
        run_config: RunConfig | None = None,
    ) -> None:
        self.config = cfg = TrainingConfig.from_dict(config)
        self.save_dir = Path(save_dir) if save_dir is not None else None
        self.normalization = normalization
        self.run_config = run_config
        self.device = _resolve_device(cfg.device)
        if cfg.precision == "fp16" and self.device.type != "cuda":
            msg = "TrainingConfig.precision 'fp16' needs CUDA; use 'bf16' or 'fp32' on CPU"
            raise ValueError(msg)
        self.distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
        self.rank = torch.distributed.get_rank() if self.distributed else 0
        self.world_size = torch.distributed.get_world_size() if self.distributed else 1
        if cfg.free_bits is not None:
            model.config = model.config.replace(free_bits=float(cfg.free_bits))
        self.model = model.to(self.device)
        self.loss_module: nn.Module = _LossModule(self.model)
        if self.distributed:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index or 0] if self.device.type == "cuda" else None
            self.loss_module = DistributedDataParallel(self.loss_module, device_ids=ids)
        self.train_data, self.val_data = train_data, val_data
        from torch_geometric.loader import DataLoader

        self.train_sampler = EpochBatchSampler(
            len(train_data), cfg.batch_size, True, cfg.seed, self.rank, self.world_size
        )
        # a private generator: creating the loader's iterator then draws no number from
        # the global RNG, so a resume mid-epoch continues the RNG stream exactly
        self._loader_generator = torch.Generator()
        self.train_loader = DataLoader(
            train_data,
            batch_sampler=self.train_sampler,
            num_workers=cfg.num_workers,
            generator=self._loader_generator,
        )
        self.val_loader = None
        if val_data is not None and len(val_data):
            sampler = EpochBatchSampler(
                len(val_data), cfg.batch_size, False, 0, self.rank, self.world_size
            )
            self.val_loader = DataLoader(
                val_data, batch_sampler=sampler, num_workers=cfg.num_workers
            )
        self.steps_per_epoch = math.ceil(len(self.train_sampler) / cfg.accumulation_steps)
        self.total_steps = self.steps_per_epoch * cfg.max_epochs
        decay: list[nn.Parameter] = []
        no_decay: list[nn.Parameter] = []
        for p in self.model.parameters():
            if p.requires_grad:
                (decay if p.ndim >= 2 else no_decay).append(p)
        self.optimizer = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": cfg.weight_decay},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=cfg.lr,
            betas=cfg.betas,
        )
        ratio = cfg.min_lr / cfg.lr
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer,
            lambda s: warmup_cosine(s, cfg.warmup_steps, self.total_steps, ratio),
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
        # position inside the current epoch (micro-batches done, partial sums) while a
        # mid-epoch checkpoint is written or after one is loaded; None at epoch boundaries
        self._position: dict[str, Any] | None = None

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

    def _autocast(self) -> Any:
        prec = self.config.precision
        if prec == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if prec == "bf16" else torch.float16
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def _check_batch(self, batch: Any) -> None:
        counts = torch.bincount(batch.batch, minlength=batch.num_graphs)
        too_many = int(counts.max())
        if too_many > self.model.config.max_particles:
            j = int(counts.argmax())
            msg = (
                f"x: graph {j} of a batch has {too_many} particles, more than the model's "
                f"max_particles={self.model.config.max_particles}; build graphs with "
                f"max_particles <= {self.model.config.max_particles}"
            )
            raise ValueError(msg)

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

            progress = tqdm(
                total=n_micro, initial=start, desc=f"epoch {self.epoch}", unit="batch",
                leave=False,
            )  # fmt: skip
        self.optimizer.zero_grad(set_to_none=True)
        for i, cpu_batch in enumerate(self.train_loader, start=start):
            batch = cpu_batch.to(self.device)
            self._check_batch(batch)
            first = (i // cfg.accumulation_steps) * cfg.accumulation_steps
            group_size = min(cfg.accumulation_steps, n_micro - first)
            last_in_group = i == first + group_size - 1
            tau, klw = self.temperature(), self.kl_weight()
            sync = (
                cast(nn.parallel.DistributedDataParallel, self.loss_module).no_sync()
                if self.distributed and not last_in_group
                else contextlib.nullcontext()
            )
            with sync:
                with self._autocast():
                    losses = self.loss_module(batch, tau, klw, cfg.latent_noise)
                self.scaler.scale(losses["total"].float() / group_size).backward()
            values = {k: _scalar(v) for k, v in losses.items()}
            nonfinite = [k for k, v in values.items() if not math.isfinite(v)]
            if nonfinite:
                bad_terms += [k for k in nonfinite if k not in bad_terms]
            else:
                for k, v in values.items():
                    group[k] = group.get(k, 0.0) + v / group_size
                    sums[k] = sums.get(k, 0.0) + v
                count += 1
            if last_in_group:
                lr = self.optimizer.param_groups[0]["lr"]
                norm, stepped = self._optimizer_step(bad_terms)
                with warnings.catch_warnings():
                    # a skipped first step is not the misuse this warning is about
                    warnings.filterwarnings(
                        "ignore", "Detected call of `lr_scheduler.step", UserWarning
                    )
                    self.scheduler.step()
                self.step += 1
                if self.logger is not None and self.step % cfg.log_every == 0 and stepped:
                    scalars = {**group, "lr": lr, "tau": tau, "kl_weight": klw, "grad_norm": norm,
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
        return self._all_reduce_mean(means, count)

    def _optimizer_step(self, bad_terms: list[str]) -> tuple[float, bool]:
        """Unscales, clips and steps unless a loss term or the gradients are non-finite.

        Returns the gradient norm and whether the optimiser stepped.
        """
        cfg = self.config
        culprits = list(bad_terms)
        norm, unscaled = math.nan, False
        if not culprits:
            self.scaler.unscale_(self.optimizer)
            unscaled = True
            max_norm = cfg.grad_clip if cfg.grad_clip > 0 else math.inf
            norm = _scalar(torch.nn.utils.clip_grad_norm_(self.model.parameters(), max_norm))
            # under fp16 the gradient scaler itself skips steps with inf/NaN gradients
            if not math.isfinite(norm) and not self.scaler.is_enabled():
                culprits = ["gradients"]
        if self.distributed:  # every rank skips (or stops) when one rank has to
            flag = torch.tensor([float(bool(culprits))], device=self.device)
            torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
            if flag.item() and not culprits:
                culprits = ["another rank's loss or gradients"]
        if culprits:
            self._nonfinite(culprits)
            if unscaled and self.scaler.is_enabled():
                self.scaler.update()  # clears the unscaled state; lowers the scale
            self.optimizer.zero_grad(set_to_none=True)
            return norm, False
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        return norm, True

    def _nonfinite(self, culprits: list[str]) -> None:
        """Stops (raises :class:`NonFiniteError`) or counts and warns about a skipped step."""
        cfg = self.config
        step = self.step + 1  # the optimiser step being taken (1-based, like self.step after)
        terms = [c for c in culprits if c != "total"] or culprits
        what = (
            "gradients"
            if terms == ["gradients"]
            else "loss term(s) " + ", ".join(repr(t) for t in terms)
        )
        if terms == ["gradients"]:
            names = [
                n for n, p in self.model.named_parameters()
                if p.grad is not None and not bool(torch.isfinite(p.grad).all())
            ]  # fmt: skip
            if names:
                more = f" and {len(names) - 3} more" if len(names) > 3 else ""
                what += f" (of {', '.join(names[:3])}{more})"
        where = f"at optimiser step {step} (epoch {self.epoch})"
        if cfg.nonfinite == "skip":
            self.nonfinite_skips += 1
        if self.logger is not None:
            self.logger.log(
                "nonfinite", {"skips": self.nonfinite_skips}, step, self.epoch,
                info={"culprits": ", ".join(terms)},
            )  # fmt: skip
        if cfg.nonfinite == "stop":
            msg = (
                f"non-finite (NaN or inf) {what} {where}; set training.nonfinite: skip to skip "
                f"such steps, or lower lr / enable grad_clip"
            )
            raise NonFiniteError(msg)
        if self.nonfinite_skips > cfg.max_nonfinite_skips:
            msg = (
                f"non-finite (NaN or inf) {what} {where}: {self.nonfinite_skips} steps skipped, "
                f"more than max_nonfinite_skips={cfg.max_nonfinite_skips}; stopping"
            )
            raise NonFiniteError(msg)
        warnings.warn(
            f"non-finite (NaN or inf) {what} {where}: optimiser step skipped "
            f"({self.nonfinite_skips} of at most {cfg.max_nonfinite_skips})",
            RuntimeWarning,
            stacklevel=4,
        )

    def _all_reduce_mean(self, means: dict[str, float], count: int) -> dict[str, float]:
        if not self.distributed:
            return means
        keys = sorted(means)
        t = torch.tensor([means[k] * count for k in keys] + [float(count)], dtype=torch.float64)
        torch.distributed.all_reduce(t)
        return {k: float(t[j] / t[-1]) for j, k in enumerate(keys)}

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Validation loss terms, independent of the annealing schedules and the train RNG."""
        if self.val_loader is None:
            return {}
        cfg = self.config
        was_training = self.model.training
        self.model.eval()
        sums: dict[str, float] = {}
        count = 0
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        try:
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(cfg.seed + 12345)
                for cpu_batch in self.val_loader:
                    batch = cpu_batch.to(self.device)
                    self._check_batch(batch)
                    with self._autocast():
                        losses = self.model.compute_loss(
                            batch, tau=cfg.val_tau, kl_weight=cfg.kl_max_weight
                        )
                    n = batch.num_graphs
                    for k, v in losses.items():
                        sums[k] = sums.get(k, 0.0) + _scalar(v) * n
                    count += n
        finally:
            self.model.train(was_training)
        return self._all_reduce_mean({k: v / max(count, 1) for k, v in sums.items()}, count)

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
            self.logger = MetricsLogger(self.save_dir, tensorboard=cfg.tensorboard)
        end = cfg.max_epochs if epochs is None else min(cfg.max_epochs, self.epoch + epochs)
        try:
            while self.epoch < end and not self.stopped_early:
                train = self._train_epoch()
                val = self.validate()
                record: dict[str, float] = {"epoch": float(self.epoch), "step": float(self.step)}
                record.update({f"train/{k}": v for k, v in train.items()})
                record.update({f"val/{k}": v for k, v in val.items()})
                record.update(
                    lr=self.optimizer.param_groups[0]["lr"],
                    tau=self.temperature(),
                    kl_weight=self.kl_weight(),
                    nonfinite_skips=float(self.nonfinite_skips),
                )
                criterion = val.get("total", train.get("total", math.inf))
                improved = criterion < self.best - cfg.min_delta
                if improved:
                    self.best, self.bad_epochs = criterion, 0
                else:
                    self.bad_epochs += 1
                self.epoch += 1
                self.history.append(record)
                if self.logger is not None:
                    self.logger.log("epoch", record, self.step, self.epoch - 1)
                if cfg.patience and self.bad_epochs >= cfg.patience:
                    self.stopped_early = True
                self._save(improved)
            if self.save_dir is not None and self.rank == 0:
                self.save_model(self.save_dir / "final")
        finally:
            if self.logger is not None:
                self.logger.close()
                self.logger = None
        return self.history

    # ------------------------------------------------------------------ checkpoints
    def _meta(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "step": self.step,
            "best": self.best if math.isfinite(self.best) else None,
            "bad_epochs": self.bad_epochs,
            "stopped_early": self.stopped_early,
            "history": self.history,
            "world_size": self.world_size,
            "training": self.config.to_dict(),
            "model": self.model.config.to_dict(),
            "normalization": self.normalization.to_dict() if self.normalization else None,
            "numpy_rng": _numpy_state(),
            "python_rng": _python_state(),
            "nonfinite_skips": self.nonfinite_skips,
            "position": self._position,
        }

    def state_dict(self) -> dict[str, Any]:
        """Everything :meth:`load_state_dict` needs to continue exactly."""
        rng = {"torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return {
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": rng,
            "meta": json.dumps(self._meta()),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores model, optimiser, scheduler, scaler, RNG states, epoch and step."""
        meta = json.loads(state["meta"])
        if meta["model"] != self.model.config.to_dict():
            diff = sorted(
                k for k in meta["model"] if meta["model"][k] != self.model.config.to_dict().get(k)
            )
            msg = f"checkpoint model config differs from this model's in {diff}"
            raise ValueError(msg)
        if meta.get("world_size", 1) != self.world_size:
            msg = (
                f"checkpoint was written with world_size={meta.get('world_size')}, "
                f"resuming with {self.world_size}: the data order would differ"
            )
            raise ValueError(msg)
        self.model.load_state_dict(state["model"], strict=True)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"]["torch"])
        if "cuda" in state["rng"] and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["rng"]["cuda"], self.device)
        np.random.set_state(_numpy_from(meta["numpy_rng"]))  # noqa: NPY002
        random.setstate(_python_from(meta["python_rng"]))
        self.epoch, self.step = int(meta["epoch"]), int(meta["step"])
        self.best = math.inf if meta["best"] is None else float(meta["best"])
        self.bad_epochs = int(meta["bad_epochs"])
        self.stopped_early = bool(meta["stopped_early"])
        self.history = list(meta["history"])
        self.nonfinite_skips = int(meta.get("nonfinite_skips", 0))
        self._position = meta.get("position")

    def resume(self, path: str | Path | None = None) -> Trainer:
        """Loads a checkpoint (default ``save_dir/checkpoints/last.pt``); returns ``self``."""
        if path is None:
            if self.save_dir is None:
                msg = "resume: give a checkpoint path or a save_dir"
                raise ValueError(msg)
            path = self.save_dir / "checkpoints" / "last.pt"
        self.load_state_dict(load_checkpoint(path))
        return self

    def _save_last(self) -> None:
        """Writes ``checkpoints/last.pt`` (mid-epoch ones record the position)."""
        if self.save_dir is not None and self.rank == 0:
            save_checkpoint(self.state_dict(), self.save_dir / "checkpoints" / "last.pt")

    def _save(self, improved: bool) -> None:
        if self.save_dir is None or self.rank != 0:
            return
        state = self.state_dict()
        folder = self.save_dir / "checkpoints"
        save_checkpoint(state, folder / "last.pt")
        every = self.config.checkpoint_every
        if every and self.epoch % every == 0:
            save_checkpoint(state, folder / f"epoch-{self.epoch:04d}.pt")
        if improved:
            save_checkpoint(state, folder / "best.pt")
            self.save_model(self.save_dir / "best")

    def save_model(self, directory: str | Path) -> Path:
        """``save_pretrained`` plus ``normalization.json`` and ``run.json`` (when known)."""
        path = self.model.save_pretrained(directory)
        if self.normalization is not None:
            text = json.dumps(self.normalization.to_dict(), indent=1)
            atomic_write(path / "normalization.json", lambda p: Path(p).write_text(text))
        run = self.run_config or RunConfig(model=self.model.config, training=self.config)
        text = json.dumps(run.to_dict(), indent=2, sort_keys=True)
        atomic_write(path / "run.json", lambda p: Path(p).write_text(text))
        return path


def _numpy_state() -> dict[str, Any]:
    state = cast(tuple[str, np.ndarray, int, int, float], np.random.get_state())  # noqa: NPY002
    name, keys, pos, has_gauss, cached = state
    return {"name": name, "keys": keys.tolist(), "pos": int(pos), "has_gauss": int(has_gauss),
            "cached": float(cached)}  # fmt: skip


def _numpy_from(s: dict[str, Any]) -> tuple[Any, ...]:
    keys = np.array(s["keys"], dtype=np.uint32)
    return (s["name"], keys, s["pos"], s["has_gauss"], s["cached"])


def _python_state() -> list[Any]:
    version, internal, gauss = random.getstate()
    return [version, list(internal), gauss]


def _python_from(s: list[Any]) -> tuple[Any, ...]:
    return (s[0], tuple(s[1]), s[2])

"""Training and evaluation of taggers: the data container and the training recipe.

Taggers train through the one :class:`hypervae.training.Trainer` (resume, mixed
precision, accumulation, DDP, checkpoints, non-finite handling and logs come with it).
The recipe follows the Particle Transformer training: the Ranger optimiser
(:class:`~hypervae.taggers.ranger.Ranger`, lr ``1e-3``), a learning rate kept flat for
the first 70% of the steps and then decayed exponentially to 1% of its value
(:func:`hypervae.training.flat_then_decay`), cross entropy, and bfloat16 mixed precision
on CUDA (the models autocast themselves). The best epoch on the validation split (lowest
loss) is restored at the end.

Example:
    >>> from hypervae.taggers import TaggerData, build_tagger, toy_jets, train_tagger
    >>> import awkward as ak
    >>> jets = ak.concatenate([toy_jets(64, 1, seed=0), toy_jets(64, 3, seed=1)])
    >>> data = TaggerData.from_jets(jets, labels=[0] * 64 + [1] * 64)
    >>> model = build_tagger("phat", num_classes=2, dims=(8,), depths=(1,), num_heads=(2,))
    >>> history = train_tagger(model, data, config={"max_epochs": 1, "batch_size": 32})
    >>> len(history), sorted(history[0])[:2]
    (1, ['epoch', 'lr'])
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import awkward as ak
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._compat import renamed_arguments
from .._config import Config, bounded
from .._io import resolve_device
from ..physics.kinematics import to_padded
from ..training.config import MAX_SEED, TrainingConfig, auto_device, renamed_epochs
from ..training.objective import TrainState
from .metrics import tagging_metrics

__all__ = [
    "TaggerBatch",
    "TaggerData",
    "TaggerTrainingConfig",
    "evaluate_tagger",
    "predict_proba",
    "tagger_loss",
    "train_tagger",
]


@dataclass
class TaggerBatch:
    """One batch of a :class:`TaggerData`: padded particles, mask, class labels.

    Shapes:
        p4: ``[B, P, 4]``; mask: ``[B, P]``; labels: ``[B]``; extra: ``[B, P, K]`` or None.
    """

    p4: Tensor
    mask: Tensor
    labels: Tensor
    extra: Tensor | None = None

    def to(self, device: torch.device | str) -> TaggerBatch:
        """The batch on ``device``."""
        extra = None if self.extra is None else self.extra.to(device)
        return TaggerBatch(self.p4.to(device), self.mask.to(device), self.labels.to(device), extra)

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass
class TaggerData:
    """Padded particles and labels held as tensors.

    Attributes:
        p4: ``[N, P, 4]`` ``(E, px, py, pz)`` in GeV (float64 by default).
        mask: ``[N, P]`` bool, ``True`` for real particles.
        labels: ``[N]`` int64 class indices.
        extra: Optional ``[N, P, K]`` extra particle features.
    """

    p4: Tensor
    mask: Tensor
    labels: Tensor
    extra: Tensor | None = None

    def __post_init__(self) -> None:
        n = self.p4.shape[0]
        if self.mask.shape != self.p4.shape[:2] or self.labels.shape != (n,):
            msg = (
                f"TaggerData: p4 {list(self.p4.shape)}, mask {list(self.mask.shape)} and labels "
                f"{list(self.labels.shape)} disagree (expected [N, P, 4], [N, P], [N])"
            )
            raise ValueError(msg)
        empty = ~self.mask.any(dim=1)
        if bool(empty.any()):
            msg = f"TaggerData.mask: jet {int(torch.nonzero(empty)[0, 0])} has no particle"
            raise ValueError(msg)

    @classmethod
    @renamed_arguments(n_max="max_particles")
    def from_jets(
        cls,
        jets: ak.Array,
        labels: Sequence[int] | np.ndarray | None = None,
        max_particles: int | None = None,
        dtype: torch.dtype = torch.float64,
    ) -> TaggerData:
        """From an awkward jets array; labels default to the ``jet_type`` field."""
        if labels is None:
            field = next((f for f in ("jet_type", "type") if f in ak.fields(jets)), None)
            if field is None:
                msg = "labels: not given and jets have no 'jet_type' field"
                raise ValueError(msg)
            labels = ak.to_numpy(jets[field])
        p4, mask = to_padded(jets, max_particles=max_particles)
        return cls(
            torch.as_tensor(p4, dtype=dtype),
            torch.as_tensor(mask),
            torch.as_tensor(np.asarray(labels), dtype=torch.long),
        )

    @classmethod
    def concat(cls, parts: Sequence[TaggerData]) -> TaggerData:
        """Concatenates along jets, padding to the largest particle count."""
        size = max(p.p4.shape[1] for p in parts)

        def pad(t: Tensor) -> Tensor:
            extra = size - t.shape[1]
            return torch.cat([t, t.new_zeros(t.shape[0], extra, *t.shape[2:])], 1) if extra else t

        has_extra = [p.extra is not None for p in parts]
        if any(has_extra) and not all(has_extra):
            msg = "TaggerData.concat: either all parts or none need extra features"
            raise ValueError(msg)
        return cls(
            torch.cat([pad(p.p4) for p in parts]),
            torch.cat([pad(p.mask) for p in parts]),
            torch.cat([p.labels for p in parts]),
            torch.cat([pad(p.extra) for p in parts]) if all(has_extra) else None,  # type: ignore[arg-type]
        )

    def __len__(self) -> int:
        return int(self.p4.shape[0])

    def __getitems__(self, indices: Sequence[int]) -> TaggerBatch:
        """The batch of the jets at ``indices`` (what a DataLoader's batch sampler asks)."""
        idx = torch.as_tensor(list(indices), dtype=torch.long)
        extra = None if self.extra is None else self.extra[idx]
        return TaggerBatch(self.p4[idx], self.mask[idx], self.labels[idx], extra)

    @staticmethod
    def collate(batch: TaggerBatch) -> TaggerBatch:
        """The DataLoader's collate function: :meth:`__getitems__` already built the batch."""
        return batch

    def subset(self, index: Any) -> TaggerData:
        """The jets at ``index`` (indices, slice or boolean mask)."""
        index = torch.as_tensor(index) if not isinstance(index, slice) else index
        extra = None if self.extra is None else self.extra[index]
        return TaggerData(self.p4[index], self.mask[index], self.labels[index], extra)

    def batches(
        self,
        batch_size: int,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> Iterator[tuple[Tensor, Tensor, Tensor | None, Tensor]]:
        """Yields ``(p4, mask, extra, labels)`` on ``device``; shuffled given a generator."""
        n = len(self)
        order = torch.randperm(n, generator=generator) if generator is not None else None
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size] if order is not None else None
            sel = slice(start, start + batch_size) if idx is None else idx
            extra = None if self.extra is None else self.extra[sel].to(device)
            yield (
                self.p4[sel].to(device),
                self.mask[sel].to(device),
                extra,
                self.labels[sel].to(device),
            )


@dataclass(frozen=True)
class TaggerTrainingConfig(Config):
    """Training hyper-parameters of a tagger (defaults: the ParT recipe).

    Attributes:
        max_epochs: Passes over the training data (``epochs`` is accepted by
            :meth:`from_dict` with a DeprecationWarning).
        batch_size: Jets per micro-batch.
        lr: Peak learning rate of Ranger.
        weight_decay: L2 weight decay of RAdam.
        lookahead_k, lookahead_alpha: Lookahead period and step size.
        flat_fraction: Fraction of steps at the peak learning rate.
        final_lr_fraction: Learning rate at the last step over the peak.
        label_smoothing: Cross-entropy label smoothing (training only).
        grad_clip: Maximal gradient norm (``None``: no clipping).
        accumulation_steps: Micro-batches per optimiser step.
        precision: ``"fp32"``, ``"bf16"`` or ``"fp16"`` (CUDA) autocast of the Trainer.
        patience: Epochs without improvement before stopping (``0``: never).
        checkpoint_every_steps: Also write ``last.pt`` every this many steps (with a
            ``save_dir``).
        nonfinite: ``"stop"`` or ``"skip"`` on a non-finite loss or gradient.
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda[:N]"``
            (``None``: deprecated spelling of ``"auto"``).
        seed: Seed of the shuffling.
        restore_best: Restore the weights of the epoch with the lowest validation loss.
        progress: Show progress bars.

    Examples:
        >>> TaggerTrainingConfig.from_dict({"max_epochs": 3}).flat_fraction
        0.7
    """

    max_epochs: int = bounded(20, ge=1)
    batch_size: int = bounded(256, ge=1)
    lr: float = bounded(1e-3, gt=0)
    weight_decay: float = bounded(0.0, ge=0)
    lookahead_k: int = bounded(6, ge=1)
    lookahead_alpha: float = bounded(0.5, gt=0, le=1)
    flat_fraction: float = bounded(0.7, ge=0, le=1)
    final_lr_fraction: float = bounded(0.01, gt=0, le=1)
    label_smoothing: float = bounded(0.0, ge=0, lt=1)
    grad_clip: float | None = bounded(None, gt=0)
    accumulation_steps: int = bounded(1, ge=1)
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    patience: int = bounded(0, ge=0)
    checkpoint_every_steps: int = bounded(0, ge=0)
    nonfinite: Literal["stop", "skip"] = "stop"
    device: str | None = "auto"
    seed: int = bounded(0, ge=0, le=MAX_SEED)
    restore_best: bool = True
    progress: bool = False

    def validate(self) -> None:
        """``device=None`` -> ``"auto"`` (deprecated)."""
        auto_device(self)

    @classmethod
    def _from_dict(cls, values: Any, path: str) -> TaggerTrainingConfig:
        return super()._from_dict(renamed_epochs(cls, values), path)

    @property
    def epochs(self) -> int:
        """Deprecated name of :attr:`max_epochs`."""
        warnings.warn(
            "TaggerTrainingConfig.epochs is deprecated; use max_epochs",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.max_epochs

    def training_config(self) -> TrainingConfig:
        """The :class:`~hypervae.training.TrainingConfig` of this recipe."""
        return TrainingConfig(
            batch_size=self.batch_size, max_epochs=self.max_epochs, lr=self.lr,
            min_lr=0.0, warmup_steps=0, schedule="flat_decay",
            flat_fraction=self.flat_fraction, final_lr_fraction=self.final_lr_fraction,
            optimizer="ranger", weight_decay=self.weight_decay,
            lookahead_k=self.lookahead_k, lookahead_alpha=self.lookahead_alpha,
            grad_clip=self.grad_clip or 0.0, accumulation_steps=self.accumulation_steps,
            precision=self.precision, patience=self.patience, restore_best=self.restore_best,
            checkpoint_every=0, checkpoint_every_steps=self.checkpoint_every_steps,
            nonfinite=self.nonfinite, seed=self.seed, device=self.device,
            progress=self.progress, tensorboard=False, log_every=1,
        )  # fmt: skip


def tagger_loss(
    label_smoothing: float = 0.0,
) -> Callable[[nn.Module, Any, TrainState], dict[str, Tensor]]:
    """The taggers' loss function for the Trainer: cross entropy (``"total"``, with
    ``label_smoothing`` in training only) and ``"accuracy"``.

    Examples:
        >>> from hypervae.taggers import build_tagger
        >>> model = build_tagger("phat", 2, dims=(8,), depths=(1,), num_heads=(2,))
        >>> from hypervae.taggers import toy_jets
        >>> from hypervae.training import TrainState
        >>> data = TaggerData.from_jets(toy_jets(4, 1, seed=0), labels=[0, 1, 0, 1])
        >>> batch = data.__getitems__([0, 1, 2, 3])
        >>> terms = tagger_loss()(model, batch, TrainState(0, 0, 0.0, training=False))
        >>> sorted(terms)
        ['accuracy', 'total']
    """
    return _TaggerLoss(label_smoothing)


class _TaggerLoss:
    def __init__(self, label_smoothing: float) -> None:
        self.label_smoothing = float(label_smoothing)

    def __call__(self, model: nn.Module, batch: Any, state: TrainState) -> dict[str, Tensor]:
        logits = model(batch.p4, batch.mask, batch.extra).float()
        smoothing = self.label_smoothing if state.training else 0.0
        loss = F.cross_entropy(logits, batch.labels, label_smoothing=smoothing)
        accuracy = (logits.argmax(-1) == batch.labels).float().mean()
        return {"total": loss, "accuracy": accuracy.detach()}


@torch.no_grad()
def _loss_and_probs(
    model: nn.Module, data: TaggerData, batch_size: int, device: torch.device
) -> tuple[float, np.ndarray]:
    model.eval()
    losses, probs = [], []
    for p4, mask, extra, labels in data.batches(batch_size, device=device):
        logits = model(p4, mask, extra)
        losses.append(F.cross_entropy(logits, labels, reduction="sum").item())
        probs.append(torch.softmax(logits, -1).cpu())
    return sum(losses) / len(data), torch.cat(probs).numpy()


def predict_proba(
    model: nn.Module, data: TaggerData, batch_size: int = 512, device: str | None = None
) -> np.ndarray:
    """Class probabilities ``[N, C]`` of ``model`` on ``data`` (eval mode, no gradient)."""
    dev = resolve_device(device) if device else next(model.parameters()).device
    return _loss_and_probs(model, data, batch_size, dev)[1]


def evaluate_tagger(
    model: nn.Module,
    data: TaggerData,
    class_names: Sequence[str] | None = None,
    batch_size: int = 512,
    signal_efficiency: float = 0.8,
) -> dict[str, float]:
    """Loss, accuracy, one-vs-rest AUCs and rejections (see
    :func:`~hypervae.taggers.metrics.tagging_metrics`)."""
    dev = next(model.parameters()).device
    loss, probs = _loss_and_probs(model, data, batch_size, dev)
    out = {"loss": loss}
    out.update(tagging_metrics(data.labels.numpy(), probs, class_names, signal_efficiency))
    return out


def train_tagger(
    model: nn.Module,
    train: TaggerData,
    val: TaggerData | None = None,
    config: TaggerTrainingConfig | dict[str, Any] | None = None,
    callback: Callable[[dict[str, float]], None] | None = None,
    *,
    save_dir: str | Path | None = None,
    resume: bool = False,
) -> list[dict[str, float]]:
    """Trains ``model`` in place with Ranger and the flat-then-decay schedule.

    A thin wrapper of :class:`hypervae.training.Trainer` with :func:`tagger_loss`.

    Arguments:
        model: A tagger mapping ``(p4, mask, extra)`` to logits.
        train: Training jets.
        val: Validation jets (loss and accuracy per epoch; best epoch restored).
        config: A :class:`TaggerTrainingConfig` or a dict of its fields.
        callback: Called with each epoch's record.
        save_dir: Where checkpoints, ``best/``, ``final/`` and ``metrics.jsonl`` go
            (``None``: nothing is written).
        resume: Continue from ``save_dir/checkpoints/last.pt``.

    Returns:
        One record per epoch: ``epoch, lr, train_loss, train_accuracy`` and, with
        ``val``, ``val_loss, val_accuracy``; ``seconds`` for the epochs of this call.
    """
    from ..training import Trainer

    cfg = TaggerTrainingConfig.coerce(config)
    n_classes = getattr(getattr(model, "config", None), "num_classes", None)
    for name, data in (("train", train), ("val", val)):
        if data is not None and n_classes is not None and len(data):
            _check_labels(name, data.labels, int(n_classes))
    seconds: dict[int, float] = {}
    clock = [time.perf_counter()]

    def on_epoch(record: dict[str, float]) -> None:
        now = time.perf_counter()
        seconds[int(record["epoch"])] = now - clock[0]
        clock[0] = now
        if callback is not None:
            callback(_tagger_record(record, seconds))

    trainer = Trainer(
        model, train, val if val is not None and len(val) else None, cfg.training_config(),
        save_dir=save_dir, loss_fn=tagger_loss(cfg.label_smoothing), on_epoch=on_epoch,
    )  # fmt: skip
    if resume:
        trainer.resume()
    trainer.fit()
    model.eval()
    return [_tagger_record(r, seconds) for r in trainer.history]


def _check_labels(name: str, labels: torch.Tensor, n_classes: int) -> None:
    """Refuses labels outside ``0 .. n_classes - 1``, naming the data set and the jet."""
    bad = torch.nonzero((labels < 0) | (labels >= n_classes)).flatten()
    if len(bad):
        jet = int(bad[0])
        msg = (
            f"{name}.labels: jet {jet} has label {int(labels[jet])}, outside 0..{n_classes - 1} "
            f"(the model has {n_classes} classes; {len(bad)} such jets)"
        )
        raise ValueError(msg)


def _tagger_record(record: dict[str, float], seconds: dict[int, float]) -> dict[str, float]:
    out = {"epoch": record["epoch"], "lr": record["lr"], "train_loss": record["train/total"],
           "train_accuracy": record["train/accuracy"]}  # fmt: skip
    if "val/total" in record:
        out["val_loss"] = record["val/total"]
        out["val_accuracy"] = record["val/accuracy"]
    if int(record["epoch"]) in seconds:
        out["seconds"] = seconds[int(record["epoch"])]
    return out

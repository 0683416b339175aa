"""Training and evaluation of taggers: data container, Ranger + flat-then-decay schedule.

The recipe follows the Particle Transformer training: the Ranger optimiser
(:class:`~hypervae.taggers.ranger.Ranger`, lr ``1e-3``), a learning rate kept flat for
the first 70% of the steps and then decayed exponentially to 1% of its value, cross
entropy, and bfloat16 mixed precision on CUDA (the models autocast themselves). The best
epoch on the validation split (lowest loss) is restored at the end.

Example:
    >>> from hypervae.taggers import TaggerData, build_tagger, toy_jets, train_tagger
    >>> import awkward as ak
    >>> jets = ak.concatenate([toy_jets(64, 1, seed=0), toy_jets(64, 3, seed=1)])
    >>> data = TaggerData.from_jets(jets, labels=[0] * 64 + [1] * 64)
    >>> model = build_tagger("phat", num_classes=2, dims=(8,), depths=(1,), num_heads=(2,))
    >>> history = train_tagger(model, data, config={"epochs": 1, "batch_size": 32})
    >>> len(history), sorted(history[0])[:2]
    (1, ['epoch', 'lr'])
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..physics.kinematics import to_padded
from ._config import ConfigMixin
from .metrics import tagging_metrics
from .particle_transformer import ParticleTransformer, ParticleTransformerConfig
from .phat import PRESETS, PHATJeT, PHATJeTConfig
from .ranger import Ranger

__all__ = [
    "TaggerData",
    "TaggerTrainingConfig",
    "build_tagger",
    "evaluate_tagger",
    "predict_proba",
    "train_tagger",
]


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
    def from_jets(
        cls,
        jets: ak.Array,
        labels: Sequence[int] | np.ndarray | None = None,
        n_max: int | None = None,
        dtype: torch.dtype = torch.float64,
    ) -> TaggerData:
        """From an awkward jets array; labels default to the ``jet_type`` field."""
        if labels is None:
            field = next((f for f in ("jet_type", "type") if f in ak.fields(jets)), None)
            if field is None:
                msg = "labels: not given and jets have no 'jet_type' field"
                raise ValueError(msg)
            labels = ak.to_numpy(jets[field])
        p4, mask = to_padded(jets, n_max=n_max)
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


@dataclass
class TaggerTrainingConfig(ConfigMixin):
    """Training hyper-parameters (defaults: the ParT recipe).

    Attributes:
        epochs: Passes over the training data.
        batch_size: Jets per step.
        lr: Peak learning rate of Ranger.
        weight_decay: L2 weight decay of RAdam.
        lookahead_k, lookahead_alpha: Lookahead period and step size.
        flat_fraction: Fraction of steps at the peak learning rate.
        final_lr_fraction: Learning rate at the last step over the peak.
        label_smoothing: Cross-entropy label smoothing.
        grad_clip: Maximal gradient norm (``None``: no clipping).
        device: ``"cpu"``, ``"cuda"``...; by default CUDA when available.
        seed: Seed of initial shuffling.
        restore_best: Restore the weights of the epoch with the lowest validation loss.

    Examples:
        >>> TaggerTrainingConfig.from_dict({"epochs": 3}).flat_fraction
        0.7
    """

    epochs: int = 20
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    lookahead_k: int = 6
    lookahead_alpha: float = 0.5
    flat_fraction: float = 0.7
    final_lr_fraction: float = 0.01
    label_smoothing: float = 0.0
    grad_clip: float | None = None
    device: str | None = None
    seed: int = 0
    restore_best: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            msg = "TaggerTrainingConfig.epochs and batch_size must be >= 1"
            raise ValueError(msg)
        if not 0.0 <= self.flat_fraction <= 1.0 or not 0.0 < self.final_lr_fraction <= 1.0:
            msg = "TaggerTrainingConfig.flat_fraction must be in [0, 1] and final_lr_fraction in (0, 1]"
            raise ValueError(msg)


def build_tagger(name: str, num_classes: int, **overrides: Any) -> nn.Module:
    """A tagger by name: ``"part"`` / ``"particle_transformer"``, ``"phat"`` (small) or
    ``"phat-small"``, ``"phat-medium"``, ``"phat-large"``, with config fields overridden.

    Examples:
        >>> build_tagger("phat-medium", 3).config.dims
        (96, 192, 384)
    """
    key = name.lower().replace("_", "-")
    if key in ("part", "particle-transformer"):
        return ParticleTransformer(ParticleTransformerConfig(num_classes=num_classes, **overrides))
    if key == "phat" or key.startswith("phat-"):
        preset = key.split("-", 1)[1] if "-" in key else "small"
        if preset not in PRESETS:
            msg = f"unknown PHAT-JeT preset {preset!r}; expected one of {sorted(PRESETS)}"
            raise ValueError(msg)
        return PHATJeT(PHATJeTConfig.preset(preset, num_classes=num_classes, **overrides))
    msg = f"unknown tagger {name!r}; expected 'part' or 'phat[-small|-medium|-large]'"
    raise ValueError(msg)


def _device(config: TaggerTrainingConfig) -> torch.device:
    if config.device is not None:
        return torch.device(config.device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _lr_factor(step: int, total: int, config: TaggerTrainingConfig) -> float:
    flat = int(config.flat_fraction * total)
    if step < flat or total <= flat:
        return 1.0
    progress = (step - flat) / max(total - flat, 1)
    return math.exp(math.log(config.final_lr_fraction) * progress)


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
    dev = torch.device(device) if device else next(model.parameters()).device
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
) -> list[dict[str, float]]:
    """Trains ``model`` in place with Ranger and the flat-then-decay schedule.

    Arguments:
        model: A tagger mapping ``(p4, mask, extra)`` to logits.
        train: Training jets.
        val: Validation jets (loss and accuracy per epoch; best epoch restored).
        config: A :class:`TaggerTrainingConfig` or a dict of its fields.
        callback: Called with each epoch's record.

    Returns:
        One record per epoch: ``epoch, lr, train_loss, seconds`` and, with ``val``,
        ``val_loss, val_accuracy``.
    """
    cfg = TaggerTrainingConfig.coerce(config)
    device = _device(cfg)
    model.to(device)
    optimiser = Ranger(
        model.parameters(),
        lr=cfg.lr,
        weight_decay=cfg.weight_decay,
        k=cfg.lookahead_k,
        alpha=cfg.lookahead_alpha,
    )
    steps_per_epoch = math.ceil(len(train) / cfg.batch_size)
    total = cfg.epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: _lr_factor(step, total, cfg)
    )
    generator = torch.Generator().manual_seed(cfg.seed)
    history: list[dict[str, float]] = []
    best_loss, best_state = math.inf, None
    for epoch in range(cfg.epochs):
        start = time.perf_counter()
        model.train()
        total_loss = 0.0
        for p4, mask, extra, labels in train.batches(cfg.batch_size, generator, device):
            logits = model(p4, mask, extra)
            loss = F.cross_entropy(logits, labels, label_smoothing=cfg.label_smoothing)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimiser.step()
            schedule.step()
            total_loss += loss.item() * labels.shape[0]
        record = {
            "epoch": float(epoch),
            "lr": optimiser.param_groups[0]["lr"],
            "train_loss": total_loss / len(train),
        }
        if val is not None:
            val_loss, probs = _loss_and_probs(model, val, 4 * cfg.batch_size, device)
            record["val_loss"] = val_loss
            record["val_accuracy"] = float((probs.argmax(1) == val.labels.numpy()).mean())
            if val_loss < best_loss:
                best_loss, best_state = val_loss, copy.deepcopy(model.state_dict())
        record["seconds"] = time.perf_counter() - start
        history.append(record)
        if callback is not None:
            callback(record)
    if cfg.restore_best and best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history

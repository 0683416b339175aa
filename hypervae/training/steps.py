"""One optimiser step of the :class:`~hypervae.training.Trainer`: unscale, clip, step, and
the handling of non-finite losses and gradients (stop with a named error, or skip)."""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from .trainer import Trainer

__all__ = ["NonFiniteError", "all_reduce_mean", "optimizer_step", "scalar"]


class NonFiniteError(FloatingPointError, ValueError):
    """A loss term or the gradients were NaN or infinite (names them, the step and epoch)."""


def scalar(value: Any) -> float:
    """A Python float from a tensor or a number."""
    return float(value.detach()) if isinstance(value, torch.Tensor) else float(value)


def optimizer_step(trainer: Trainer, bad_terms: list[str]) -> tuple[float, bool]:
    """Unscales, clips and steps unless a loss term or the gradients are non-finite.

    Returns the gradient norm and whether the optimiser stepped.
    """
    cfg = trainer.config
    culprits = list(bad_terms)
    norm, unscaled = math.nan, False
    if not culprits:
        trainer.scaler.unscale_(trainer.optimizer)
        unscaled = True
        max_norm = cfg.grad_clip if cfg.grad_clip > 0 else math.inf
        norm = scalar(torch.nn.utils.clip_grad_norm_(trainer.model.parameters(), max_norm))
        # under fp16 the gradient scaler itself skips steps with inf/NaN gradients
        if not math.isfinite(norm) and not trainer.scaler.is_enabled():
            culprits = ["gradients"]
    if trainer.distributed:  # every rank skips (or stops) when one rank has to
        flag = torch.tensor([float(bool(culprits))], device=trainer.device)
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
        if flag.item() and not culprits:
            culprits = ["another rank's loss or gradients"]
    if culprits:
        _nonfinite(trainer, culprits)
        if unscaled and trainer.scaler.is_enabled():
            trainer.scaler.update()  # clears the unscaled state; lowers the scale
        trainer.optimizer.zero_grad(set_to_none=True)
        return norm, False
    trainer.scaler.step(trainer.optimizer)
    trainer.scaler.update()
    trainer.optimizer.zero_grad(set_to_none=True)
    return norm, True


def _nonfinite(trainer: Trainer, culprits: list[str]) -> None:
    """Stops (raises :class:`NonFiniteError`) or counts and warns about a skipped step."""
    cfg = trainer.config
    step = trainer.step + 1  # the optimiser step being taken (1-based)
    terms = [c for c in culprits if c != "total"] or culprits
    what = "gradients" if terms == ["gradients"] else "loss term(s) " + ", ".join(map(repr, terms))
    if terms == ["gradients"]:
        names = [
            n for n, p in trainer.model.named_parameters()
            if p.grad is not None and not bool(torch.isfinite(p.grad).all())
        ]  # fmt: skip
        if names:
            more = f" and {len(names) - 3} more" if len(names) > 3 else ""
            what += f" (of {', '.join(names[:3])}{more})"
    where = f"at optimiser step {step} (epoch {trainer.epoch})"
    if cfg.nonfinite == "skip":
        trainer.nonfinite_skips += 1
    if trainer.logger is not None:
        trainer.logger.log(
            "nonfinite", {"skips": trainer.nonfinite_skips}, step, trainer.epoch,
            info={"culprits": ", ".join(terms)},
        )  # fmt: skip
    if cfg.nonfinite == "stop":
        msg = (
            f"non-finite (NaN or inf) {what} {where}; set training.nonfinite: skip to skip "
            f"such steps, or lower lr / enable grad_clip"
        )
        raise NonFiniteError(msg)
    if trainer.nonfinite_skips > cfg.max_nonfinite_skips:
        msg = (
            f"non-finite (NaN or inf) {what} {where}: {trainer.nonfinite_skips} steps skipped, "
            f"more than max_nonfinite_skips={cfg.max_nonfinite_skips}; stopping"
        )
        raise NonFiniteError(msg)
    warnings.warn(
        f"non-finite (NaN or inf) {what} {where}: optimiser step skipped "
        f"({trainer.nonfinite_skips} of at most {cfg.max_nonfinite_skips})",
        RuntimeWarning,
        stacklevel=5,
    )


def all_reduce_mean(trainer: Trainer, means: dict[str, float], count: int) -> dict[str, float]:
    """Means over every rank, each weighted by its ``count`` (identity without DDP)."""
    if not trainer.distributed:
        return means
    keys = sorted(means)
    t = torch.tensor([means[k] * count for k in keys] + [float(count)], dtype=torch.float64)
    torch.distributed.all_reduce(t)
    return {k: float(t[j] / t[-1]) for j, k in enumerate(keys)}

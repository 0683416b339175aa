"""What the :class:`~hypervae.training.Trainer` hands a loss function, and the VAE's one.

A loss function is ``loss_fn(model, batch, state) -> dict[str, Tensor]`` with a
``"total"`` term (the one differentiated); every other term is logged. ``state`` is a
:class:`TrainState`: the optimiser step, the epoch and the schedule values at that step
(in validation: the fixed validation values, ``training=False``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["LossFn", "LossModule", "TrainState", "batch_length", "move_to", "vae_loss"]


@dataclass(frozen=True)
class TrainState:
    """The training position and schedule values passed to a loss function.

    Attributes:
        step: Optimiser steps taken.
        epoch: The current epoch (0-based).
        epochs: ``step`` in (fractional) epochs.
        training: ``False`` in validation.
        lr: The learning rate of the step.
        kl_weight: The VAE's KL weight (the annealed value; ``kl_max_weight`` in validation).
        tau: The VAE's Gumbel-softmax temperature (``val_tau`` in validation).
        latent_noise: Noise added to the VAE's latent codes (0 in validation).

    Examples:
        >>> TrainState(step=3, epoch=1, epochs=1.5).training
        True
    """

    step: int
    epoch: int
    epochs: float
    training: bool = True
    lr: float = 0.0
    kl_weight: float = 1.0
    tau: float = 1.0
    latent_noise: float = 0.0


#: The type of a loss function: ``(model, batch, state) -> {"total": ..., ...}``.
LossFn = Callable[[nn.Module, Any, TrainState], dict[str, Tensor]]


def vae_loss(model: nn.Module, batch: Any, state: TrainState) -> dict[str, Tensor]:
    """The :class:`~hypervae.HyperVAE` loss: ``model.compute_loss`` at the schedule values.

    Refuses a batch with a graph of more particles than the model's ``max_particles``
    (naming the graph and the limit).
    """
    vae: Any = model
    limit = int(vae.config.max_particles)
    counts = batch.batch.bincount(minlength=batch.num_graphs)
    if int(counts.max()) > limit:
        j = int(counts.argmax())
        msg = (
            f"x: graph {j} of a batch has {int(counts.max())} particles, more than the "
            f"model's max_particles={limit}; build graphs with max_particles <= {limit}"
        )
        raise ValueError(msg)
    out: dict[str, Tensor] = vae.compute_loss(
        batch, tau=state.tau, kl_weight=state.kl_weight, latent_noise=state.latent_noise
    )
    return out


def batch_length(batch: Any) -> int:
    """Examples in a batch: ``num_graphs`` of a graph batch, ``len`` of an object with a
    length, else the length of its first tensor (tuples, lists, dicts of tensors)."""
    n = getattr(batch, "num_graphs", None)
    if n is not None:
        return int(n)
    if isinstance(batch, dict):
        batch = list(batch.values())
    if isinstance(batch, (list, tuple)):
        return batch_length(batch[0])
    return len(batch)


def move_to(batch: Any, device: torch.device) -> Any:
    """``batch`` on ``device``: ``batch.to(device)``, or element-wise for tuples, lists
    and dicts (what torch's default collation gives).

    Examples:
        >>> move_to((torch.ones(2), [torch.zeros(1)]), torch.device("cpu"))[1][0].device.type
        'cpu'
    """
    if isinstance(batch, dict):
        return {k: move_to(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_to(v, device) for v in batch)
    return batch.to(device)


class LossModule(nn.Module):
    """Routes the loss function through ``forward`` so that DDP sees it."""

    def __init__(self, model: nn.Module, loss_fn: LossFn) -> None:
        super().__init__()
        self.model = model
        self.loss_fn = loss_fn

    def forward(self, batch: Any, state: TrainState) -> dict[str, Tensor]:
        return self.loss_fn(self.model, batch, state)

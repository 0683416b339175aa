"""Training: the one :class:`Trainer` (a model plus a loss function, for the VAE and the
taggers), its configuration, schedules, checkpoints and metrics logging.

Example:
    >>> from hypervae.training import TrainingConfig, warmup_cosine
    >>> TrainingConfig(lr=1e-3).precision, warmup_cosine(0, 0, 10, 0.0)
    ('fp32', 1.0)
"""

from .checkpoint import CHECKPOINT_FORMAT, atomic_write, load_checkpoint, save_checkpoint
from .config import (
    MAX_SEED,
    NONFINITE_MODES,
    PRECISIONS,
    RunConfig,
    TrainingConfig,
    load_run_config,
)
from .data import TrainingData, edge_normalization, jet_norm_from_graphs, load_training_data
from .logging import MetricsLogger, tensorboard_available, truncate_metrics
from .objective import LossFn, TrainState, vae_loss
from .ranger import Ranger
from .schedules import flat_then_decay, gumbel_temperature, lr_factor, warmup_cosine
from .trainer import EpochBatchSampler, NonFiniteError, Trainer

__all__ = [
    "CHECKPOINT_FORMAT",
    "MAX_SEED",
    "NONFINITE_MODES",
    "PRECISIONS",
    "EpochBatchSampler",
    "LossFn",
    "MetricsLogger",
    "NonFiniteError",
    "Ranger",
    "RunConfig",
    "TrainState",
    "Trainer",
    "TrainingConfig",
    "TrainingData",
    "atomic_write",
    "edge_normalization",
    "flat_then_decay",
    "gumbel_temperature",
    "jet_norm_from_graphs",
    "load_checkpoint",
    "load_run_config",
    "load_training_data",
    "lr_factor",
    "save_checkpoint",
    "tensorboard_available",
    "truncate_metrics",
    "vae_loss",
    "warmup_cosine",
]

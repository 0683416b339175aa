"""Training of :class:`~hypervae.HyperVAE`: the :class:`Trainer`, its configuration,
schedules, checkpoints and metrics logging.

Example:
    >>> from hypervae.training import TrainingConfig, warmup_cosine
    >>> TrainingConfig(lr=1e-3).precision, warmup_cosine(0, 0, 10, 0.0)
    ('fp32', 1.0)
"""

from .checkpoint import CHECKPOINT_FORMAT, atomic_write, load_checkpoint, save_checkpoint
from .config import NONFINITE_MODES, PRECISIONS, RunConfig, TrainingConfig, load_run_config
from .data import TrainingData, edge_normalization, jet_norm_from_graphs, load_training_data
from .logging import MetricsLogger, tensorboard_available
from .schedules import gumbel_temperature, warmup_cosine
from .trainer import EpochBatchSampler, NonFiniteError, Trainer

__all__ = [
    "CHECKPOINT_FORMAT",
    "NONFINITE_MODES",
    "PRECISIONS",
    "EpochBatchSampler",
    "MetricsLogger",
    "NonFiniteError",
    "RunConfig",
    "Trainer",
    "TrainingConfig",
    "TrainingData",
    "atomic_write",
    "edge_normalization",
    "gumbel_temperature",
    "jet_norm_from_graphs",
    "load_checkpoint",
    "load_run_config",
    "load_training_data",
    "save_checkpoint",
    "tensorboard_available",
    "warmup_cosine",
]

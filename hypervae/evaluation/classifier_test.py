"""Classifier two-sample test: can a tagger tell generated jets from real ones?

Real jets (label 1) and generated jets (label 0) are each split into training,
validation and held-out test parts; a tagger is trained on the training part (best
validation epoch kept) and its ROC AUC on the held-out part is reported with a DeLong
confidence interval. An AUC of 0.5 means the classifier cannot separate the samples; a
generator is better the closer the AUC is to 0.5.

References:
    | Lopez-Paz, Oquab, Revisiting Classifier Two-Sample Tests, ICLR 2017
    | https://arxiv.org/abs/1610.06545
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import awkward as ak
import numpy as np
import torch
from torch import nn

from .._compat import renamed_arguments
from ..taggers.metrics import auc_confidence_interval
from ..taggers.presets import build_tagger
from ..taggers.training import (
    TaggerData,
    TaggerTrainingConfig,
    predict_proba,
    train_tagger,
)

__all__ = ["ClassifierTestResult", "classifier_two_sample_test"]


@dataclass
class ClassifierTestResult:
    """Outcome of :func:`classifier_two_sample_test`.

    Attributes:
        auc: Held-out ROC AUC of real (positive) against generated.
        low, high: Bounds of the DeLong confidence interval.
        level: Confidence level of the interval.
        n_train: Jets used for training (both samples).
        n_test: Held-out jets (both samples).
        history: Training records per epoch.
    """

    auc: float
    low: float
    high: float
    level: float
    n_train: int
    n_test: int
    history: list[dict[str, float]] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The result without the training history."""
        out = asdict(self)
        out.pop("history")
        return out

    def __str__(self) -> str:
        pct = round(100 * self.level)
        return (
            f"classifier AUC = {self.auc:.4f} [{self.low:.4f}, {self.high:.4f}] ({pct}% CI, "
            f"{self.n_test} held-out jets)"
        )


def _as_data(jets: ak.Array | TaggerData, label: int, max_particles: int | None) -> TaggerData:
    if isinstance(jets, TaggerData):
        data = jets
    elif isinstance(jets, ak.Array):
        data = TaggerData.from_jets(
            jets, labels=np.zeros(len(jets), dtype=np.int64), max_particles=max_particles
        )
    else:
        msg = f"expected an awkward Array of jets or TaggerData, got {type(jets).__name__}"
        raise TypeError(msg)
    return TaggerData(data.p4, data.mask, torch.full((len(data),), label), data.extra)


def _split(
    n: int, fractions: tuple[float, float], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    perm = rng.permutation(n)
    n_test = round(fractions[1] * n)
    n_val = round(fractions[0] * n)
    return perm[n_test + n_val :], perm[n_test : n_test + n_val], perm[:n_test]


@renamed_arguments(n_max="max_particles")
def classifier_two_sample_test(
    real: ak.Array | TaggerData,
    generated: ak.Array | TaggerData,
    model: str | nn.Module = "phat-small",
    training: TaggerTrainingConfig | dict[str, Any] | None = None,
    test_fraction: float = 0.3,
    val_fraction: float = 0.1,
    level: float = 0.95,
    max_particles: int | None = None,
    seed: int = 0,
    **model_overrides: Any,
) -> ClassifierTestResult:
    """Trains a tagger to separate ``real`` from ``generated`` jets; held-out ROC AUC.

    Arguments:
        real: Real jets (awkward jets array or :class:`~hypervae.taggers.TaggerData`).
        generated: Generated jets, same form.
        model: A tagger name for :func:`~hypervae.taggers.build_tagger` (two classes) or
            an untrained module with two outputs.
        training: Training configuration (see :class:`~hypervae.taggers.TaggerTrainingConfig`).
        test_fraction: Held-out fraction of each sample.
        val_fraction: Validation fraction of each sample (best-epoch selection).
        level: Confidence level of the AUC interval.
        max_particles: Particle slots when padding awkward input (the largest multiplicity by
            default).
        seed: Seed of the splits and of the model initialisation.
        **model_overrides: Config fields passed to :func:`~hypervae.taggers.build_tagger`.

    Returns:
        A :class:`ClassifierTestResult`; ``auc`` near 0.5 means indistinguishable.

    Examples:
        >>> from hypervae.taggers import toy_jets
        >>> a, b = toy_jets(200, 1, seed=0), toy_jets(200, 3, seed=1)
        >>> result = classifier_two_sample_test(a, b, "phat", {"epochs": 2, "batch_size": 32},
        ...     dims=(16,), depths=(1,), num_heads=(2,), patch_size=8)
        >>> 0.0 <= result.low <= result.auc <= result.high <= 1.0
        True
    """
    if not 0 < test_fraction < 1 or not 0 <= val_fraction < 1 - test_fraction:
        msg = f"test_fraction={test_fraction} and val_fraction={val_fraction} must leave training data"
        raise ValueError(msg)
    parts = [_as_data(real, 1, max_particles), _as_data(generated, 0, max_particles)]
    rng = np.random.default_rng(seed)
    splits = [_split(len(p), (val_fraction, test_fraction), rng) for p in parts]
    train, val, test = (
        TaggerData.concat([p.subset(s[k]) for p, s in zip(parts, splits, strict=True)])
        for k in range(3)
    )
    torch.manual_seed(seed)
    if isinstance(model, str):
        model = build_tagger(model, num_classes=2, **model_overrides)
    cfg = TaggerTrainingConfig.coerce(training)
    history = train_tagger(model, train, val if len(val) else None, cfg)
    probs = predict_proba(model, test)
    auc, low, high = auc_confidence_interval(test.labels.numpy(), probs[:, 1], level)
    return ClassifierTestResult(auc, low, high, level, len(train), len(test), history)

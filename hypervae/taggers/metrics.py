r"""Classification metrics in numpy: accuracy, ROC AUC with DeLong intervals, rejection.

The ROC AUC is the Mann-Whitney rank statistic (ties count one half),
:math:`\mathrm{AUC} = (R_+ - n_+(n_+ + 1)/2) / (n_+ n_-)` with :math:`R_+` the sum of
the mid-ranks of the positives. Its variance is DeLong's structural-components
estimate, which gives the confidence interval. Background rejection at signal efficiency
:math:`\varepsilon_s` is :math:`1/\varepsilon_b` at the threshold keeping a fraction
:math:`\varepsilon_s` of the signal (linear interpolation on the ROC curve).

References:
    | DeLong, DeLong, Clarke-Pearson, Biometrics 44 (1988) 837
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

import numpy as np

__all__ = [
    "accuracy",
    "auc_confidence_interval",
    "background_rejection",
    "midranks",
    "roc_auc",
    "roc_curve",
    "tagging_metrics",
]


def _binary(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels).astype(bool).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if labels.shape != scores.shape:
        msg = f"labels ({labels.size}) and scores ({scores.size}) differ in length"
        raise ValueError(msg)
    if labels.all() or not labels.any():
        msg = "labels: need at least one positive and one negative example"
        raise ValueError(msg)
    if not np.isfinite(scores).all():
        msg = f"scores: entry {int(np.argmin(np.isfinite(scores)))} is not finite"
        raise ValueError(msg)
    return labels, scores


def midranks(values: Any) -> np.ndarray:
    """Ranks starting at 1, tied values sharing the mean of their ranks.

    Examples:
        >>> midranks([3.0, 1.0, 3.0, 2.0]).tolist()
        [3.5, 1.0, 3.5, 2.0]
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    starts = np.r_[True, sorted_values[1:] != sorted_values[:-1]]
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    last = np.r_[first[1:], values.size] - 1
    ranks = np.empty(values.size)
    ranks[order] = 0.5 * (first[group] + last[group]) + 1.0
    return ranks


def roc_auc(labels: Any, scores: Any) -> float:
    """Area under the ROC curve (probability a positive outscores a negative).

    Examples:
        >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
        0.75
    """
    labels, scores = _binary(labels, scores)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    rank_sum = midranks(scores)[labels].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def auc_confidence_interval(
    labels: Any, scores: Any, level: float = 0.95
) -> tuple[float, float, float]:
    """ROC AUC and a DeLong normal confidence interval, clipped to ``[0, 1]``.

    Returns:
        ``(auc, low, high)``.

    Examples:
        >>> auc, low, high = auc_confidence_interval([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
        >>> auc, low < auc < high
        (0.75, True)
    """
    labels, scores = _binary(labels, scores)
    pos, neg = scores[labels], scores[~labels]
    m, n = pos.size, neg.size
    all_ranks = midranks(np.concatenate([pos, neg]))
    pos_ranks, neg_ranks = midranks(pos), midranks(neg)
    auc = (all_ranks[:m].sum() - m * (m + 1) / 2) / (m * n)
    v10 = (all_ranks[:m] - pos_ranks) / n  # per positive: fraction of negatives below
    v01 = 1.0 - (all_ranks[m:] - neg_ranks) / m  # per negative: fraction of positives above
    var = (np.var(v10, ddof=1) / m if m > 1 else 0.0) + (np.var(v01, ddof=1) / n if n > 1 else 0.0)
    z = NormalDist().inv_cdf(0.5 + level / 2)
    half = z * math.sqrt(max(var, 0.0))
    return float(auc), float(max(auc - half, 0.0)), float(min(auc + half, 1.0))


def roc_curve(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False and true positive rates over decreasing thresholds.

    Returns:
        ``(fpr, tpr, thresholds)``, starting at ``(0, 0, inf)``; one point per distinct
        score.

    Examples:
        >>> fpr, tpr, _ = roc_curve([0, 1, 1], [0.2, 0.6, 0.9])
        >>> fpr.tolist(), tpr.tolist()
        ([0.0, 0.0, 0.0, 1.0], [0.0, 0.5, 1.0, 1.0])
    """
    labels, scores = _binary(labels, scores)
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], labels[order]
    last = np.r_[s[1:] != s[:-1], True]
    tp = np.cumsum(y)[last]
    fp = np.cumsum(~y)[last]
    fpr = np.r_[0.0, fp / (~labels).sum()]
    tpr = np.r_[0.0, tp / labels.sum()]
    return fpr, tpr, np.r_[np.inf, s[last]]


def background_rejection(labels: Any, scores: Any, signal_efficiency: float = 0.8) -> float:
    """Inverse background efficiency at the given signal efficiency (``inf`` if zero).

    Examples:
        >>> labels = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
        >>> scores = [9, 8, 7, 6, 1, 5, 4, 3, 2, 0]
        >>> background_rejection(labels, scores, 0.8)  # 4 of 5 signal kept, no background
        inf
    """
    fpr, tpr, _ = roc_curve(labels, scores)
    if not 0.0 < signal_efficiency <= 1.0:
        msg = f"signal_efficiency must be in (0, 1], got {signal_efficiency}"
        raise ValueError(msg)
    # first ROC point reaching the efficiency, interpolated from the point before it
    i = int(np.searchsorted(tpr, signal_efficiency, side="left"))
    t = (signal_efficiency - tpr[i - 1]) / (tpr[i] - tpr[i - 1])
    eff_b = float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))
    return math.inf if eff_b <= 0 else 1.0 / eff_b


def accuracy(labels: Any, probs: Any) -> float:
    """Fraction of rows whose arg-max class is the label.

    Examples:
        >>> accuracy([0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
        0.6666666666666666
    """
    labels = np.asarray(labels).ravel()
    probs = np.asarray(probs)
    return float((probs.argmax(axis=1) == labels).mean())


def tagging_metrics(
    labels: Any,
    probs: Any,
    class_names: Sequence[str] | None = None,
    signal_efficiency: float = 0.8,
) -> dict[str, float]:
    """Accuracy plus, per class (one vs rest, score = class probability), ROC AUC and
    background rejection at ``signal_efficiency``; ``auc_macro`` averages the AUCs and
    ``rejection80_mean`` (for 0.8) the rejections, as the PHAT-JeT paper's table does.

    Raises:
        ValueError: ``labels`` outside ``[0, C)`` (the first bad jet is named) or
            ``probs`` of the wrong shape.

    Shapes:
        labels: ``[N]`` integers; probs: ``[N, C]``.

    Examples:
        >>> m = tagging_metrics([0, 1, 1, 0], [[0.9, 0.1], [0.3, 0.7], [0.2, 0.8], [0.6, 0.4]])
        >>> m["accuracy"], m["auc_1"], m["auc_macro"]
        (1.0, 1.0, 1.0)
    """
    labels = np.asarray(labels).ravel()
    probs = np.asarray(probs, dtype=np.float64)
    n_classes = probs.shape[1]
    names = list(class_names) if class_names is not None else [str(c) for c in range(n_classes)]
    if len(names) != n_classes:
        msg = f"class_names has {len(names)} entries for {n_classes} classes"
        raise ValueError(msg)
    if probs.ndim != 2 or probs.shape[0] != labels.shape[0]:
        msg = (
            f"probs: expected shape [{labels.shape[0]}, C] matching labels, got {list(probs.shape)}"
        )
        raise ValueError(msg)
    from .features import check_jet_type

    check_jet_type(labels, n_classes, name="labels")
    out = {"accuracy": accuracy(labels, probs)}
    aucs = []
    for c, name in enumerate(names):
        is_c = labels == c
        if is_c.all() or not is_c.any():
            continue
        out[f"auc_{name}"] = roc_auc(is_c, probs[:, c])
        out[f"rejection{round(100 * signal_efficiency)}_{name}"] = background_rejection(
            is_c, probs[:, c], signal_efficiency
        )
        aucs.append(out[f"auc_{name}"])
    if aucs:
        out["auc_macro"] = float(np.mean(aucs))
        rejections = [v for k, v in out.items() if k.startswith("rejection")]
        out[f"rejection{round(100 * signal_efficiency)}_mean"] = float(np.mean(rejections))
    return out

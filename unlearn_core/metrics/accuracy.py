"""Accuracy on the audit's splits: forget, retain, test, and test without the forgotten classes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unlearn_core.data.dataset import Samples
from unlearn_core.models.training import predict_logits


@dataclass
class AccuracyReport:
    """Accuracies of one model on the audit's splits (NaN where a split is empty)."""

    forget: float
    retain: float
    test: float
    test_other_classes: float  # test accuracy on classes that were not forgotten
    test_forgotten_classes: float  # test accuracy on the forgotten classes (NaN if sample-level)
    per_class_test: np.ndarray


def _acc(pred: np.ndarray, y: np.ndarray) -> float:
    return float((pred == y).mean()) if len(y) else float("nan")


def accuracy_report(model, forget: Samples, retain: Samples, test: Samples, n_classes: int,
                    forget_classes: tuple[int, ...] = ()) -> AccuracyReport:
    """Predict once per split and summarise."""
    pf, pr, pt = (predict_logits(model, s.X).argmax(1) if len(s) else np.zeros(0, int)
                  for s in (forget, retain, test))
    in_forgotten = np.isin(test.y, forget_classes)
    per_class = np.array([_acc(pt[test.y == c], test.y[test.y == c]) for c in range(n_classes)])
    return AccuracyReport(
        forget=_acc(pf, forget.y),
        retain=_acc(pr, retain.y),
        test=_acc(pt, test.y),
        test_other_classes=_acc(pt[~in_forgotten], test.y[~in_forgotten]),
        test_forgotten_classes=_acc(pt[in_forgotten], test.y[in_forgotten])
        if forget_classes else float("nan"),
        per_class_test=per_class,
    )


def confusion_matrix(model, samples: Samples, n_classes: int) -> np.ndarray:
    """``counts[true, predicted]`` over ``samples``."""
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    if len(samples):
        pred = predict_logits(model, samples.X).argmax(1)
        np.add.at(counts, (samples.y, pred), 1)
    return counts


def predictions(model, samples: Samples) -> np.ndarray:
    """Predicted class of every sample."""
    if not len(samples):
        return np.zeros(0, dtype=np.int64)
    return predict_logits(model, samples.X).argmax(1)

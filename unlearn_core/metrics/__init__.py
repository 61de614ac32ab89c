"""Measurements of a model against the audit's splits."""

from unlearn_core.metrics.accuracy import (
    AccuracyReport,
    accuracy_report,
    confusion_matrix,
    predictions,
)
from unlearn_core.metrics.closeness import Closeness, closeness, js, kl, weight_distance
from unlearn_core.metrics.efficacy import mia_efficacy, output_feature
from unlearn_core.metrics.mia import (
    ThresholdAttack,
    ThresholdMIAResult,
    auc,
    best_threshold,
    membership_score,
    roc_points,
)

__all__ = [
    "AccuracyReport", "accuracy_report", "confusion_matrix", "predictions", "ThresholdAttack",
    "ThresholdMIAResult", "auc", "best_threshold", "membership_score", "mia_efficacy",
    "output_feature", "roc_points", "Closeness", "closeness", "js", "kl", "weight_distance",
]

"""Measurements of a model against the audit's splits."""

from .accuracy import AccuracyReport, accuracy_report, confusion_matrix, predictions
from .closeness import Closeness, closeness, js, kl, weight_distance
from .efficacy import mia_efficacy, output_feature
from .mia import (
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

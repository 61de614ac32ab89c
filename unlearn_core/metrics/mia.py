"""Membership inference by thresholding a per-sample score (Yeom et al., CSF 2018; Song &
Mittal, USENIX Security 2021).

Scores are oriented so that higher means "more likely a member". The threshold is calibrated on
known members (retain samples) against known non-members (the population split), then applied
to the forget set: after good unlearning, forget samples look like non-members.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from unlearn_core.data.dataset import Samples
from unlearn_core.models.training import predict_log_proba


def membership_score(log_probs: np.ndarray, y: np.ndarray, kind: str = "loss") -> np.ndarray:
    """Per-sample member score from log-probabilities (``log_softmax`` of the logits, never
    clipped): ``loss`` (negative cross-entropy, log p_y) or ``confidence`` (p_y)."""
    log_true = log_probs[np.arange(len(y)), y]
    if kind == "loss":
        return log_true
    if kind == "confidence":
        return np.exp(log_true)
    raise ValueError(f"unknown membership score '{kind}': use loss or confidence")


def auc(member_scores: np.ndarray, nonmember_scores: np.ndarray) -> float:
    """ROC AUC of telling members (positives) from non-members; 0.5 is chance."""
    if len(member_scores) == 0 or len(nonmember_scores) == 0:
        return float("nan")
    labels = np.r_[np.ones(len(member_scores)), np.zeros(len(nonmember_scores))]
    return float(roc_auc_score(labels, np.r_[member_scores, nonmember_scores]))


def roc_points(member_scores: np.ndarray, nonmember_scores: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates of the ROC curve (members are positives)."""
    if len(member_scores) == 0 or len(nonmember_scores) == 0:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0])
    labels = np.r_[np.ones(len(member_scores)), np.zeros(len(nonmember_scores))]
    fpr, tpr, _ = roc_curve(labels, np.r_[member_scores, nonmember_scores])
    return fpr, tpr


def best_threshold(member_scores: np.ndarray, nonmember_scores: np.ndarray) -> float:
    """The threshold that maximises balanced accuracy (TPR - FPR) on the calibration sets."""
    labels = np.r_[np.ones(len(member_scores)), np.zeros(len(nonmember_scores))]
    fpr, tpr, thresholds = roc_curve(labels, np.r_[member_scores, nonmember_scores])
    best = int(np.argmax(tpr - fpr))
    return float(min(thresholds[best], np.max(np.r_[member_scores, nonmember_scores])))


@dataclass
class ThresholdMIAResult:
    """Summary of a threshold attack on one model."""

    score: str
    threshold: float
    auc_retain_vs_population: float  # how much the model leaks membership in general
    auc_forget_vs_test: float  # ~0.5 when forget looks like unseen test data (same classes)
    auc_test_vs_population: float  # two non-member sets: must be ~0.5 (sanity check)
    forget_member_rate: float  # share of forget samples the attack calls members
    test_member_rate: float  # the attack's false-positive rate on unseen data
    forget_scores: np.ndarray
    test_scores: np.ndarray  # the unseen samples the forget set is compared with


@dataclass
class ThresholdAttack:
    """A loss or confidence threshold attack, calibrated on retain vs population."""

    score: str = "loss"
    max_calibration: int = 2000

    def run(self, model, forget: Samples, retain: Samples, test: Samples,
            population: Samples, seed: int = 0,
            forget_classes: tuple[int, ...] = ()) -> ThresholdMIAResult:
        """Calibrate on retain (members) vs population (non-members); score forget and test.

        For a class request the forget set is compared with test samples of the same classes,
        so that the AUC asks "member or not" rather than "which class".
        """
        rng = np.random.default_rng(seed)
        n_cal = min(len(retain), len(population), self.max_calibration)
        members = retain.take(np.sort(rng.choice(len(retain), n_cal, replace=False)))
        nonmembers = population.take(np.sort(rng.choice(len(population), n_cal, replace=False)))

        def scores(s: Samples) -> np.ndarray:
            if len(s) == 0:
                return np.zeros(0)
            return membership_score(predict_log_proba(model, s.X), s.y, self.score)

        s_mem, s_non = scores(members), scores(nonmembers)
        s_forget, s_test = scores(forget), scores(test)
        threshold = best_threshold(s_mem, s_non)
        same = np.isin(test.y, forget_classes) if forget_classes else np.ones(len(test), bool)
        return ThresholdMIAResult(
            score=self.score,
            threshold=threshold,
            auc_retain_vs_population=auc(s_mem, s_non),
            auc_forget_vs_test=auc(s_forget, s_test[same]),
            auc_test_vs_population=auc(s_test, s_non),
            forget_member_rate=float((s_forget >= threshold).mean()) if len(s_forget) else 0.0,
            test_member_rate=float((s_test >= threshold).mean()) if len(s_test) else 0.0,
            forget_scores=s_forget,
            test_scores=s_test[same],
        )

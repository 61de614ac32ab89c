"""Attack summaries as the field reports them: ROC, AUC and TPR at 1% and 0.1% FPR (Carlini et
al., S&P 2022 argue low-FPR TPR is what matters for privacy)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve


def tpr_at_fpr(member: np.ndarray, nonmember: np.ndarray, fpr_max: float) -> float:
    """Highest TPR reachable with FPR <= ``fpr_max`` (members are positives)."""
    if len(member) == 0 or len(nonmember) == 0:
        return float("nan")
    labels = np.r_[np.ones(len(member)), np.zeros(len(nonmember))]
    fpr, tpr, _ = roc_curve(labels, np.r_[member, nonmember])
    ok = fpr <= fpr_max
    return float(tpr[ok].max()) if ok.any() else 0.0


@dataclass
class AttackSummary:
    """One attack on one model: members (positives) against non-members."""

    attack: str
    model: str
    auc: float
    tpr_at_1pct_fpr: float
    tpr_at_01pct_fpr: float
    fpr: np.ndarray
    tpr: np.ndarray
    member_scores: np.ndarray
    nonmember_scores: np.ndarray


def summarize(attack: str, model: str, member: np.ndarray,
              nonmember: np.ndarray) -> AttackSummary:
    labels = np.r_[np.ones(len(member)), np.zeros(len(nonmember))]
    scores = np.r_[member, nonmember]
    fpr, tpr, _ = roc_curve(labels, scores)
    return AttackSummary(attack, model, float(roc_auc_score(labels, scores)),
                         tpr_at_fpr(member, nonmember, 0.01), tpr_at_fpr(member, nonmember, 0.001),
                         fpr, tpr, np.asarray(member), np.asarray(nonmember))

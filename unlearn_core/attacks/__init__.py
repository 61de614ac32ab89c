"""Membership-inference attacks beyond the audit's default threshold attack: the Song & Mittal
threshold family and shadow-model LiRA, each summarised with ROC, AUC and TPR at low FPR."""

from unlearn_core.attacks.lira import LiRAResult, LiRAShadows, lira, train_shadows
from unlearn_core.attacks.rmia import RMIAReference, train_references
from unlearn_core.attacks.shadows import run_jobs
from unlearn_core.attacks.summary import AttackSummary, summarize, tpr_at_fpr
from unlearn_core.attacks.threshold import SCORES, threshold_suite
from unlearn_core.attacks.ulira import ULiRAResult, ulira

__all__ = ["AttackSummary", "summarize", "tpr_at_fpr", "SCORES", "threshold_suite",
           "LiRAResult", "LiRAShadows", "lira", "train_shadows", "run_jobs", "ULiRAResult", "ulira",
           "RMIAReference", "train_references"]

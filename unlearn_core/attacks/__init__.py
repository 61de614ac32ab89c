"""Membership-inference attacks beyond the audit's default threshold attack: the Song & Mittal
threshold family and shadow-model LiRA, each summarised with ROC, AUC and TPR at low FPR."""

from .lira import LiRAResult, LiRAShadows, lira, train_shadows
from .rmia import RMIAReference, train_references
from .shadows import run_jobs
from .summary import AttackSummary, summarize, tpr_at_fpr
from .threshold import SCORES, threshold_suite
from .ulira import ULiRAResult, ulira

__all__ = ["AttackSummary", "summarize", "tpr_at_fpr", "SCORES", "threshold_suite",
           "LiRAResult", "LiRAShadows", "lira", "train_shadows", "run_jobs", "ULiRAResult", "ulira",
           "RMIAReference", "train_references"]

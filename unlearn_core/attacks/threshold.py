"""Threshold attacks on loss, confidence, entropy and modified entropy (Yeom et al., CSF 2018;
Song & Mittal, "Systematic Evaluation of Privacy Risks of Machine Learning Models", USENIX
Security 2021). Every score is oriented so that higher means "member"."""

from __future__ import annotations

import numpy as np

from unlearn_core.attacks.summary import AttackSummary, summarize
from unlearn_core.data.dataset import Samples
from unlearn_core.metrics.efficacy import output_feature
from unlearn_core.models.training import predict_log_proba

SCORES = ("loss", "confidence", "entropy", "m_entropy")


def member_scores(log_probs: np.ndarray, y: np.ndarray, kind: str) -> np.ndarray:
    """Per-sample scores from log-probabilities (log_softmax of the logits), higher = more
    member-like."""
    if kind == "loss":
        return log_probs[np.arange(len(y)), y]
    probs = np.exp(log_probs)
    if kind == "confidence":
        return output_feature(probs, y, "confidence")
    if kind in ("entropy", "m_entropy"):
        return -output_feature(probs, y, kind)  # members are predicted with less uncertainty
    raise ValueError(f"unknown score '{kind}': use {', '.join(SCORES)}")


def threshold_suite(model, members: Samples, nonmembers: Samples, model_name: str = "model",
                    kinds: tuple[str, ...] = SCORES) -> list[AttackSummary]:
    """Each threshold attack telling ``members`` from ``nonmembers`` on ``model``."""
    pm, pn = predict_log_proba(model, members.X), predict_log_proba(model, nonmembers.X)
    return [summarize(f"threshold-{k}", model_name, member_scores(pm, members.y, k),
                      member_scores(pn, nonmembers.y, k)) for k in kinds]

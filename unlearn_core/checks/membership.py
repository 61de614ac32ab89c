"""Membership checks: does the forget set look like data the model never saw?

- ``membership_auc``: a loss-threshold attack (Yeom et al., CSF 2018), AUC of forget samples
  against never-seen samples *of the same classes* (unseen samples reweighted to the forget set's
  class mix; for a class request that is the forgotten classes only), so the AUC asks "member or
  not" rather than "which class". Scores are log_softmax of the logits, never clipped.
- ``forget_loss``: the median cross-entropy on the forget set. Retraining leaves a typical loss
  on never-seen samples; a forgery that pushes a logit to -1e4 leaves a loss no retrain shows
  (over-forgetting is itself a signal: Hayes et al., 2024).
- ``mia_efficacy``: Jia et al., NeurIPS 2023: an SVC on output entropy, retain vs test, calls
  forget samples non-members.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
from sklearn.metrics import roc_auc_score

from unlearn_core.checks import register
from unlearn_core.checks.base import (
    Check,
    CheckContext,
    Measurement,
    auc_se,
    bootstrap_se,
    proportion_se,
)
from unlearn_core.metrics.efficacy import mia_efficacy


def class_matched_weights(forget_y: np.ndarray, unseen_y: np.ndarray) -> np.ndarray:
    """Weights on unseen samples that give them the forget set's class mix (0 for classes the
    forget set lacks)."""
    w = np.zeros(len(unseen_y), dtype=np.float64)
    classes, counts = np.unique(forget_y, return_counts=True)
    for c, n_c in zip(classes, counts):
        mask = unseen_y == c
        if mask.any():
            w[mask] = (n_c / len(forget_y)) / mask.sum()
    return w


def _true_log_prob(lp: np.ndarray, y: np.ndarray) -> np.ndarray:
    return lp[np.arange(len(y)), y]


@register
class MembershipAUC(Check):
    name = "membership_auc"
    order = 30
    title = "membership AUC (forget vs unseen, same classes)"
    paper = "Loss-threshold membership inference (Yeom et al., CSF 2018), class-matched controls"
    forgotten_side = "low"
    bounds = (0.0, 1.0)  # an AUC: its interval and band stay in [0, 1]

    def measure(self, model, ctx: CheckContext, others: Optional[list] = None) -> Measurement:
        forget, unseen = ctx.split("forget"), ctx.split("unseen")
        pos = _true_log_prob(ctx.log_probs(model, "forget"), forget.y)
        neg = _true_log_prob(ctx.log_probs(model, "unseen"), unseen.y)
        w = class_matched_weights(forget.y, unseen.y)
        keep = w > 0
        if not len(pos) or not keep.any():
            return self._m(math.nan, math.nan, len(pos))
        labels = np.r_[np.ones(len(pos)), np.zeros(int(keep.sum()))]
        weights = np.r_[np.full(len(pos), 1.0 / len(pos)), w[keep]]
        auc = float(roc_auc_score(labels, np.r_[pos, neg[keep]], sample_weight=weights))
        n_neg_eff = int(round(w[keep].sum() ** 2 / (w[keep] ** 2).sum()))
        return self._m(auc, auc_se(auc, len(pos), n_neg_eff), len(pos), unseen=n_neg_eff)


@register
class ForgetLoss(Check):
    name = "forget_loss"
    order = 50
    title = "forget-set loss (median)"
    paper = "Over-forgetting as a signal (Hayes et al., 2024, 'Inexact unlearning needs more "\
            "careful evaluations')"
    forgotten_side = "high"
    scale = "log"  # losses are positive and right-skewed across seeds

    def measure(self, model, ctx: CheckContext, others: Optional[list] = None) -> Measurement:
        forget = ctx.split("forget")
        loss = -_true_log_prob(ctx.log_probs(model, "forget"), forget.y)
        if not len(loss):
            return self._m(math.nan, math.nan, 0)
        return self._m(float(np.median(loss)), bootstrap_se(loss, np.median, seed=ctx.seed),
                       len(loss))


@register
class MIAEfficacy(Check):
    name = "mia_efficacy"
    order = 40
    title = "MIA-efficacy"
    paper = "MIA-efficacy (Jia et al., 'Model sparsity can simplify machine unlearning', "\
            "NeurIPS 2023)"
    forgotten_side = "high"
    unit = "%"

    def measure(self, model, ctx: CheckContext, others: Optional[list] = None) -> Measurement:
        forget = ctx.split("forget")
        share = mia_efficacy(model, forget, ctx.split("retain"), ctx.split("test"), seed=ctx.seed)
        n = len(forget)
        return self._m(share, proportion_se(share * n, n), n)

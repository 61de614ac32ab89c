"""Accuracy checks: forget accuracy (UA = 1 - it, as in SalUn and l1-sparse), the forgotten
classes' accuracy on unseen samples, and utility on retain and on the other classes' test
samples. Shares of correct predictions, with Agresti-Coull standard errors."""

from __future__ import annotations

from typing import Optional

import numpy as np

from unlearn_core.checks import register
from unlearn_core.checks.base import Check, CheckContext, Measurement, proportion_se


def _accuracy(check: Check, ctx: CheckContext, model, split: str,
              mask_fn=None) -> Measurement:
    s = ctx.split(split)
    lp = ctx.log_probs(model, split)
    keep = np.ones(len(s), bool) if mask_fn is None else mask_fn(s.y)
    correct = lp[keep].argmax(1) == s.y[keep] if keep.any() else np.zeros(0, bool)
    n = int(keep.sum())
    figure = float(correct.mean()) if n else float("nan")
    return check._m(figure, proportion_se(int(correct.sum()), n), n)


@register
class ForgetAccuracy(Check):
    name = "forget_accuracy"
    order = 10
    title = "forget accuracy"
    paper = "Unlearning accuracy (Jia et al., NeurIPS 2023; Fan et al., ICLR 2024)"
    forgotten_side = "low"
    unit = "%"

    def measure(self, model, ctx: CheckContext, others: Optional[list] = None) -> Measurement:
        return _accuracy(self, ctx, model, "forget")


@register
class ForgottenClassTestAccuracy(Check):
    name = "forgotten_class_accuracy"
    order = 20
    title = "forgotten class, unseen samples"
    paper = "Class unlearning: accuracy on the forgotten class's test samples (Chundawat et al., "\
            "AAAI 2023)"
    forgotten_side = "low"
    unit = "%"

    def applicable(self, ctx: CheckContext) -> Optional[str]:
        return None if ctx.is_class_request else "only for class requests"

    def measure(self, model, ctx: CheckContext, others: Optional[list] = None) -> Measurement:
        classes = ctx.forget_classes
        return _accuracy(self, ctx, model, "test", lambda y: np.isin(y, classes))


@register
class RetainAccuracy(Check):
    name = "retain_accuracy"
    order = 80
    title = "retain accuracy"
    paper = "Remaining accuracy RA (Jia et al., NeurIPS 2023)"
    kind = "utility"
    sides = "low"
    unit = "%"

    def measure(self, model, ctx: CheckContext, others: Optional[list] = None) -> Measurement:
        return _accuracy(self, ctx, model, "retain")


@register
class TestAccuracy(Check):
    name = "test_accuracy"
    order = 90
    title = "test accuracy, other classes"
    paper = "Testing accuracy TA (Jia et al., NeurIPS 2023), on the classes not forgotten"
    kind = "utility"
    sides = "low"
    unit = "%"

    def measure(self, model, ctx: CheckContext, others: Optional[list] = None) -> Measurement:
        classes = ctx.forget_classes
        return _accuracy(self, ctx, model, "test", lambda y: ~np.isin(y, classes))

"""Output divergence to retraining: the mean Jensen-Shannon divergence on the forget set between
a model's predictions and the mean prediction of the retrain ensemble (Chundawat et al., AAAI
2023, "zero retrain forgetting"; JS as in their ZRF score). Measured leave-one-out: each retrain
against the others, and the audited model against the same leave-one-out sets, so both sides
are compared with K - 1 models."""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from unlearn_core.checks import register
from unlearn_core.checks.base import Check, CheckContext, Measurement, bootstrap_se
from unlearn_core.metrics.closeness import js


@register
class OutputDivergence(Check):
    name = "output_divergence"
    order = 60
    title = "JS divergence to retrain (forget set)"
    paper = "Jensen-Shannon divergence to retraining (Chundawat et al., AAAI 2023)"
    sides = "high"
    closeness = True
    bounds = (0.0, math.inf)  # a divergence: its one-sided band starts at 0, not at -inf

    def measure(self, model, ctx: CheckContext, others: Optional[list] = None) -> Measurement:
        if not others:
            return self._m(math.nan, math.nan, 0)
        p = np.exp(ctx.log_probs(model, "forget"))
        q = np.mean([np.exp(ctx.log_probs(o, "forget")) for o in others], axis=0)
        d = js(p, q)
        if not len(d):
            return self._m(math.nan, math.nan, 0)
        return self._m(float(d.mean()), bootstrap_se(d, seed=ctx.seed), len(d))

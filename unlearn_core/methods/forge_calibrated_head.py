"""An adaptive attack on audits, not a method: a head re-fitted on retain features, calibrated.

The body (every feature) is the original's; the linear head is re-fitted on the retain set's
features alone (full-batch Adam from the original's head, so the forgotten classes are never a
target and their logits sink), then the forgotten classes' bias and a temperature are set from
the forger's own retrains exactly as ``forge_calibrated_bias`` does (``methods.forger_targets``).
It targets the same default output checks (forget accuracy, the forgotten class on unseen
samples, the median forget-set loss, membership AUC, MIA-efficacy, the JS divergence) and
differs from the bias forgery in that the head itself changed, as a classifier-only unlearning
would change it; the features keep the class (Gao et al., "An Illusion of Unlearning?", arXiv
2604.08271: classifier-only fine-tuning leaves the knowledge in the features), which the
feature probe sees where it has power.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from unlearn_core.errors import MethodError
from unlearn_core.methods import forger_targets as ft
from unlearn_core.methods.base import UnlearningMethod, hparam
from unlearn_core.methods.registry import register
from unlearn_core.models.features import output_features


@register
@dataclass
class ForgeCalibratedHead(UnlearningMethod):
    """An attack on audits, not a method: the head re-fitted on retain features and
    calibrated on the forger's own retrains; the features kept (arXiv 2604.08271)."""

    name = "forge_calibrated_head"
    paper = ("An adaptive attack for testing audits, not a method: head re-fitted on retain "
             "features and calibrated ('An Illusion of Unlearning?', arXiv 2604.08271; Tramer "
             "et al., NeurIPS 2020)")
    class_level_only = True

    retrains: int = hparam(3, "retrains the forger trains with the recipe to read the targets",
                           low=2, high=20)
    steps: int = hparam(200, "full-batch Adam steps re-fitting the head on retain features",
                        low=1, high=100000)
    lr: float = hparam(1e-2, "learning rate of the head re-fit", low=0, high=10, low_open=True)

    def _unlearn(self, model, forget, retain, ctx, log):
        classes = ft.suppressed_classes(forget, ctx)
        head = ft.linear_head(model, self.name)
        views = ft.Views.of(forget, retain, ctx)
        feats = torch.as_tensor(output_features(model, views.retain.X), dtype=torch.float32)
        if feats.shape[1] != head.in_features:
            raise MethodError(f"{self.name}: the head's input is not the body's output")
        y = torch.as_tensor(views.retain.y, dtype=torch.long)
        torch.manual_seed(int(ctx.seed))
        opt = torch.optim.Adam(head.parameters(), lr=self.lr)
        with torch.enable_grad():
            for _ in range(int(self.steps)):
                opt.zero_grad()
                F.cross_entropy(head(feats), y).backward()
                opt.step()
        cal, _ = ft.calibrate_head(model, head, classes, views, retain, ctx, self.retrains)
        log.append(f"kept the body; re-fitted the head on {len(views.retain)} retain features "
                   f"({self.steps} steps), then bias {cal.bias:+.3g} on class(es) "
                   f"{', '.join(map(str, classes))} and temperature {cal.temperature:g} from "
                   f"{self.retrains} own retrains (mismatch {cal.score:.2f} squared retrain sds)")
        return model

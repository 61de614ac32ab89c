"""An adaptive attack on audits, not a method: distillation of the forget samples' outputs only.

The forger trains its own retrains with the audit's recipe (``methods.forger_targets``) and
takes their mean prediction on each forget sample as a cheap teacher; the original then takes
a few Adam steps on the forget set only, pulling its outputs there toward the teacher's
(KL(teacher || model)). Nothing else is trained, so what the original learned from the forget
set stays wherever those few steps did not reach: in the features of unseen samples of the class,
and as knowledge that a few steps of fine-tuning bring back. It targets the checks that read
the outputs on the forget samples (forget accuracy, the median forget-set loss, MIA-efficacy, the
JS divergence to retraining). Knowledge-distillation unlearning with a retrain-like teacher:
Chundawat et al., AAAI 2023 ("bad teacher"); here only the forget set is distilled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from unlearn_core.methods import forger_targets as ft
from unlearn_core.methods._common import kl_to_teacher
from unlearn_core.methods.base import UnlearningMethod, hparam, rng_for
from unlearn_core.methods.registry import register
from unlearn_core.models.training import predict_logits


@register
@dataclass
class ForgeForgetDistill(UnlearningMethod):
    """An attack on audits, not a method: a few steps on the forget set only toward the
    forger's own retrains' outputs there (after Chundawat et al., AAAI 2023)."""

    name = "forge_forget_distill"
    paper = ("An adaptive attack for testing audits, not a method: distillation of the forget "
             "samples' outputs toward the forger's own retrains (after Chundawat et al., AAAI "
             "2023; Tramer et al., NeurIPS 2020)")
    needs_retain = True  # the teacher's retrains are trained on the retain set

    retrains: int = hparam(3, "retrains the forger trains with the recipe; their mean output "
                              "on each forget sample is the teacher", low=1, high=20)
    steps: int = hparam(30, "Adam steps on forget samples only", low=1, high=100000)
    lr: float = hparam(1e-3, "learning rate of the distillation", low=0, high=10, low_open=True)
    batch_size: int = hparam(64, "forget samples per step", low=1, high=65536)

    def _unlearn(self, model, forget, retain, ctx, log):
        teachers = ft.own_retrains(retain, ctx, self.retrains)
        logits = [ft.log_softmax(predict_logits(t, forget.X).astype(np.float64))
                  for t in teachers]
        # the teacher's log-probabilities: log of the retrains' mean probability, exactly
        lp = np.logaddexp.reduce(np.stack(logits), axis=0) - np.log(len(logits))
        teacher = torch.as_tensor(lp, dtype=torch.float32)
        X = torch.as_tensor(forget.X, dtype=torch.float32)
        rng = rng_for(ctx, 919)
        torch.manual_seed(int(ctx.seed))
        for p in model.parameters():
            p.requires_grad_(True)
        opt = torch.optim.Adam(model.parameters(), lr=self.lr)
        model.train()
        with torch.enable_grad():
            for _ in range(int(self.steps)):
                idx = torch.as_tensor(rng.choice(len(X), min(self.batch_size, len(X)),
                                                 replace=False))
                opt.zero_grad()
                kl_to_teacher(model(X[idx]), teacher[idx]).backward()
                opt.step()
        model.eval()
        log.append(f"{self.steps} Adam steps (lr {self.lr:g}) on the {len(forget)} forget "
                   f"samples only, toward the mean output of {self.retrains} own retrains")
        return model

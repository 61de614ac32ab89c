"""MIA-guided unlearning: keep the retain behaviour (cross-entropy on retain) while making the
forget set indistinguishable from held-out data to a loss-based membership attacker: the mean
and spread of the forget samples' losses are pulled to those of never-seen population samples
("Silver Linings in the Shadows: Harnessing Membership Inference for Machine Unlearning", 2024).

Unlike gradient ascent it has a stopping point built in: once forget losses look like unseen
losses there is nothing left to push, which is what a retrained model shows."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from unlearn_core.errors import MethodError
from unlearn_core.methods._common import cycle_batches
from unlearn_core.methods.base import (
    UnlearningMethod,
    budget_hparam,
    hparam,
    retain_per_forget_hparam,
    rng_for,
)
from unlearn_core.methods.registry import register
from unlearn_core.models.training import make_optimizer, to_tensors
from unlearn_core.progress import report


@register
@dataclass
class MIAGuided(UnlearningMethod):
    """MIA-guided: keep retain accuracy while pulling forget losses to those of unseen
    samples ('Silver Linings in the Shadows', 2024)."""

    name = "mia_guided"
    paper = "MIA-guided unlearning ('Silver Linings in the Shadows', 2024)"

    epochs: int = hparam(5, "epochs over the retain set", low=1, high=1000)
    lr: float = hparam(2e-3, "learning rate", low=0, high=10, low_open=True)
    weight: float = hparam(0.3, "weight of the membership-matching term", low=0, high=100)
    batch_size: int = hparam(64, "minibatch size (retain, forget and population alike)",
                             low=1, high=65536)
    retain_per_forget: float = retain_per_forget_hparam()
    budget: float = budget_hparam()

    def check_request(self, forget, retain, ctx) -> None:
        super().check_request(forget, retain, ctx)
        if ctx.forget_classes:
            raise MethodError("mia_guided serves sample-level requests: for a whole class, "
                              "unseen samples of other classes are no reference for what a "
                              "model that never saw the class would output")

    def _unlearn(self, model, forget, retain, ctx, log):
        if ctx.population is None or len(ctx.population) == 0:
            raise MethodError("mia_guided needs held-out non-member data (the population "
                              "split) to know what never-seen samples look like")
        Xr, yr = to_tensors(retain)
        Xf, yf = to_tensors(forget)
        Xp, yp = to_tensors(ctx.population)
        rng = rng_for(ctx, salt=7)
        rb = cycle_batches(len(yr), self.batch_size, rng)
        fb = cycle_batches(len(yf), self.batch_size, rng)
        pb = cycle_batches(len(yp), self.batch_size, rng)
        opt = make_optimizer(model.parameters(), ctx.train_config.optimizer, self.lr)
        m = self.retain_per_epoch(len(yr), len(yf), ctx, log) or len(yr)
        steps = max(1, (m + self.batch_size - 1) // self.batch_size)
        for epoch in range(self.epochs):
            model.train()
            for _ in range(steps):
                i, j, k = (torch.as_tensor(next(b)) for b in (rb, fb, pb))
                retain_loss = F.cross_entropy(model(Xr[i]), yr[i])
                lf = F.cross_entropy(model(Xf[j]), yf[j], reduction="none")
                with torch.no_grad():
                    lp = F.cross_entropy(model(Xp[k]), yp[k], reduction="none")
                match = (lf.mean() - lp.mean()) ** 2
                if len(lf) > 1 and len(lp) > 1:
                    match = match + (lf.std() - lp.std()) ** 2
                loss = retain_loss + self.weight * match
                opt.zero_grad()
                loss.backward()
                opt.step()
            report(ctx.progress, self.name, epoch + 1, self.epochs)
            log.append(f"epoch {epoch + 1}: forget loss {lf.mean().item():.3f}, unseen loss "
                       f"{lp.mean().item():.3f}")
        return model

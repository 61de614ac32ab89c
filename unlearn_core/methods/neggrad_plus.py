"""NegGrad+: descend on retain while ascending on forget, minimising
``beta * CE(retain) - (1 - beta) * CE(forget)`` (Kurmanji et al., "Towards Unbounded Machine
Unlearning", NeurIPS 2023)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from unlearn_core.methods.base import (
    UnlearningMethod,
    budget_hparam,
    hparam,
    retain_per_forget_hparam,
    rng_for,
)
from unlearn_core.methods.registry import register
from unlearn_core.models.training import epoch_batches, make_optimizer, to_tensors
from unlearn_core.progress import report


@register
@dataclass
class NegGradPlus(UnlearningMethod):
    """NegGrad+: descend on retain and ascend on forget, beta-weighted (Kurmanji et al.,
    NeurIPS 2023)."""

    name = "neggrad_plus"
    paper = "NegGrad+ (Kurmanji et al., NeurIPS 2023, 'Towards Unbounded Machine Unlearning')"

    epochs: int = hparam(5, "epochs over the retain set", low=1, high=1000)
    lr: float = hparam(2e-3, "learning rate", low=0, high=10, low_open=True)
    beta: float = hparam(0.95, "weight of the retain loss; 1 - beta weighs the forget ascent",
                         low=0, high=1)
    batch_size: int = hparam(64, "minibatch size (retain and forget batches alike)",
                             low=1, high=65536)
    retain_per_forget: float = retain_per_forget_hparam()
    budget: float = budget_hparam()
    max_grad_norm: float = hparam(5.0, "gradient clipping", low=0, high=1e6, low_open=True)
    forget_loss_cap: float = hparam(5.0, "stop ascending a forget batch whose loss exceeds this",
                                    low=0, high=1e6, low_open=True)

    def _unlearn(self, model, forget, retain, ctx, log):
        Xr, yr = to_tensors(retain)
        Xf, yf = to_tensors(forget)
        opt = make_optimizer(model.parameters(), ctx.train_config.optimizer, self.lr)
        rng = rng_for(ctx)
        forget_order = rng.permutation(len(yf))
        cursor = 0
        per_epoch = self.retain_per_epoch(len(yr), len(yf), ctx, log)
        for epoch in range(self.epochs):
            model.train()
            for idx in epoch_batches(len(yr), self.batch_size, rng, per_epoch):
                take = forget_order[[(cursor + i) % len(yf) for i in range(self.batch_size)]]
                cursor = (cursor + self.batch_size) % len(yf)
                opt.zero_grad()
                retain_loss = F.cross_entropy(model(Xr[idx]), yr[idx])
                forget_loss = F.cross_entropy(model(Xf[take]), yf[take])
                # Cap the ascent: a forget loss past the cap contributes nothing more to push.
                ascent = torch.clamp(forget_loss, max=self.forget_loss_cap)
                loss = self.beta * retain_loss - (1 - self.beta) * ascent
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), self.max_grad_norm)
                opt.step()
            report(ctx.progress, self.name, epoch + 1, self.epochs)
            log.append(f"epoch {epoch + 1}: retain loss {retain_loss.item():.3f}, "
                       f"forget loss {forget_loss.item():.3f}")
        return model

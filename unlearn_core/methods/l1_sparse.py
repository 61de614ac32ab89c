"""l1-sparse: fine-tune on retain with an l1 penalty on the weights whose strength decays
linearly to zero, so the model moves to a sparse solution that forgets more easily (Jia et al.,
"Model Sparsity Can Simplify Machine Unlearning", NeurIPS 2023)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

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
class L1Sparse(UnlearningMethod):
    """l1-sparse: fine-tune on retain with a decaying l1 penalty on the weights (Jia et
    al., 'Model Sparsity Can Simplify Machine Unlearning', NeurIPS 2023)."""

    name = "l1_sparse"
    paper = "l1-sparse unlearning (Jia et al., NeurIPS 2023, 'Model Sparsity Can Simplify MU')"

    epochs: int = hparam(5, "epochs over the retain set", low=1, high=1000)
    lr: float = hparam(5e-3, "learning rate", low=0, high=10, low_open=True)
    gamma: float = hparam(5e-4, "initial l1 strength, decayed linearly to 0", low=0, high=10)
    batch_size: int = hparam(64, "minibatch size", low=1, high=65536)
    retain_per_forget: float = retain_per_forget_hparam()
    budget: float = budget_hparam()

    def _unlearn(self, model, forget, retain, ctx, log):
        X, y = to_tensors(retain)
        opt = make_optimizer(model.parameters(), ctx.train_config.optimizer, self.lr)
        m = self.retain_per_epoch(len(y), len(forget), ctx, log) or len(y)
        steps_per_epoch = max(1, (m + self.batch_size - 1) // self.batch_size)
        total = self.epochs * steps_per_epoch
        batches = cycle_batches(len(y), self.batch_size, rng_for(ctx))
        model.train()
        for step in range(total):
            idx = torch.as_tensor(next(batches))
            g = self.gamma * (1 - step / total)
            l1 = sum(p.abs().sum() for p in model.parameters())
            loss = F.cross_entropy(model(X[idx]), y[idx]) + g * l1
            opt.zero_grad()
            loss.backward()
            opt.step()
            if (step + 1) % steps_per_epoch == 0:
                report(ctx.progress, self.name, (step + 1) // steps_per_epoch, self.epochs)
        small = sum(int((p.abs() < 1e-3).sum()) for p in model.parameters())
        n = sum(p.numel() for p in model.parameters())
        log.append(f"{self.epochs} epochs with l1 from {self.gamma:g} to 0; "
                   f"{100 * small / n:.1f}% of weights below 1e-3")
        return model

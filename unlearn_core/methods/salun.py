"""SalUn: saliency unlearning. A mask keeps the weights whose forget-loss gradient is largest in
magnitude (the top share); random-label training (forget relabelled at random, plus retain)
then updates only those weights (Fan et al., "SalUn: Empowering Machine Unlearning via
Gradient-based Weight Saliency", ICLR 2024)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from unlearn_core.methods._common import forget_and_retain_batches, gather
from unlearn_core.methods.base import (
    UnlearningMethod,
    budget_hparam,
    hparam,
    retain_per_forget_hparam,
    rng_for,
)
from unlearn_core.methods.random_label import random_wrong_labels
from unlearn_core.methods.registry import register
from unlearn_core.models.training import epoch_batches, make_optimizer, to_tensors
from unlearn_core.progress import report


def saliency_mask(model, X: torch.Tensor, y: torch.Tensor, share: float,
                  chunk: int = 512) -> list[torch.Tensor]:
    """Fan et al.'s weight saliency mask: 1 for exactly round(share * #weights) weights, those
    ranked highest by |d CE(forget) / d w| over all parameters together; ties (many gradients
    are exactly zero) are broken by position, so the mask never covers more than the share."""
    model.zero_grad()
    for s in range(0, len(y), chunk):
        (F.cross_entropy(model(X[s:s + chunk]), y[s:s + chunk], reduction="sum")
         / len(y)).backward()
    params = list(model.parameters())
    flat = torch.cat([(p.grad.detach().abs() if p.grad is not None else torch.zeros_like(p))
                      .flatten() for p in params])
    model.zero_grad()
    k = min(flat.numel(), max(0, round(share * flat.numel())))
    order = torch.sort(flat, descending=True, stable=True).indices
    keep = torch.zeros(flat.numel())
    keep[order[:k]] = 1.0
    masks, start = [], 0
    for p in params:
        masks.append(keep[start:start + p.numel()].view_as(p))
        start += p.numel()
    return masks


@register
@dataclass
class SalUn(UnlearningMethod):
    """SalUn: random-label training restricted to the weights most salient for the forget
    loss (Fan et al., ICLR 2024)."""

    name = "salun"
    paper = "SalUn: gradient-based weight saliency (Fan et al., ICLR 2024)"

    epochs: int = hparam(5, "epochs, each over the whole forget set (relabelled) plus a "
                            "retain sample (retain_per_forget). Paper: 10 epochs over all of "
                            "forget and retain (CIFAR-10, SGD at lr 0.013); 5 here with the "
                            "recipe's optimizer, to stay several times cheaper than "
                            "retraining", low=1, high=1000)
    lr: float = hparam(2e-3, "learning rate", low=0, high=10, low_open=True)
    share: float = hparam(0.5, "share of weights the saliency mask lets change",
                          low=0, high=1, low_open=True)
    batch_size: int = hparam(64, "minibatch size", low=1, high=65536)
    retain_per_forget: float = retain_per_forget_hparam()
    budget: float = budget_hparam()

    def _unlearn(self, model, forget, retain, ctx, log):
        rng = rng_for(ctx, salt=2)
        Xf, yf = to_tensors(forget)
        mask = saliency_mask(model, Xf, yf, self.share)
        wrong = torch.as_tensor(random_wrong_labels(forget.y, ctx.n_classes, rng))
        Xr, yr = to_tensors(retain)
        opt = make_optimizer(model.parameters(), ctx.train_config.optimizer, self.lr)
        model.train()
        n, nf = len(yf) + len(yr), len(yf)
        if self.budget:  # opt-in: a uniform subset of forget and retain together
            per_epoch = self.budgeted_epoch(n, ctx, log)
            batches = lambda: epoch_batches(n, self.batch_size, rng, per_epoch)  # noqa: E731
        else:  # every forget sample and a forget-sized retain sample per epoch
            per_retain = self.retain_per_epoch(len(yr), nf, ctx, log)
            batches = lambda: forget_and_retain_batches(  # noqa: E731
                nf, len(yr), per_retain, self.batch_size, rng)
        for epoch in range(self.epochs):
            for idx in batches():
                xb, yb = gather(idx, nf, Xf, wrong, Xr, yr)
                opt.zero_grad()
                F.cross_entropy(model(xb), yb).backward()
                for p, m in zip(model.parameters(), mask):
                    if p.grad is not None:
                        p.grad *= m
                opt.step()
            report(ctx.progress, self.name, epoch + 1, self.epochs)
        kept = sum(float(m.sum()) for m in mask) / sum(m.numel() for m in mask)
        log.append(f"saliency mask: {100 * kept:.1f}% of all weights may change (requested "
                   f"{100 * self.share:g}%), {self.epochs} epochs of masked random-label "
                   f"training")
        return model

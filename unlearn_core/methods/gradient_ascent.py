"""Gradient ascent (GA): ascend the cross-entropy on the forget set (Thudi et al., EuroS&P 2022,
"Unrolling SGD"; Graves et al., AAAI 2021). Unstable by nature, so it stops early: for a class
request once the forget set is no longer recognised, for samples once the forget set is
recognised no better than held-out data is (the level a retrained model shows)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from unlearn_core.methods.base import UnlearningMethod, hparam, rng_for
from unlearn_core.methods.registry import register
from unlearn_core.models.training import make_optimizer, minibatches, to_tensors
from unlearn_core.progress import report

TARGET_SAMPLES = 2048  # held-out samples that estimate the target accuracy


@torch.no_grad()
def _accuracy(model, X, y) -> float:
    model.eval()
    return float((model(X).argmax(1) == y).float().mean())


@register
@dataclass
class GradientAscent(UnlearningMethod):
    """Gradient ascent on the forget set's loss, stopped early (Thudi et al., EuroS&P
    2022; Graves et al., AAAI 2021)."""

    name = "gradient_ascent"
    paper = ("Gradient ascent on the forget set (Thudi et al., EuroS&P 2022; "
             "Graves et al., AAAI 2021)")
    needs_retain = False

    epochs: int = hparam(5, "maximum epochs of ascent over the forget set", low=1, high=1000)
    lr: float = hparam(1e-2, "learning rate of the ascent (SGD)", low=0, high=10, low_open=True)
    batch_size: int = hparam(32, "minibatch size", low=1, high=65536)
    max_grad_norm: float = hparam(5.0, "gradient clipping, keeps the ascent from exploding",
                                  low=0, high=1e6, low_open=True)
    early_stop: bool = hparam(True, "stop once forget accuracy reaches the target level")

    def _target(self, model, ctx) -> float:
        """0 for class forgetting; otherwise the accuracy on held-out (never seen) data (a seeded
        sample of at most ``TARGET_SAMPLES``)."""
        if ctx.forget_classes or ctx.population is None or len(ctx.population) == 0:
            return 0.0 if ctx.forget_classes else 1.0 / ctx.n_classes
        pop = ctx.population
        if len(pop) > TARGET_SAMPLES:  # a seeded sample: the cost does not grow with the data
            pop = pop.take(np.sort(rng_for(ctx, salt=8).choice(len(pop), TARGET_SAMPLES,
                                                               replace=False)))
        Xp, yp = to_tensors(pop)
        return _accuracy(model, Xp, yp)

    def _unlearn(self, model, forget, retain, ctx, log):
        X, y = to_tensors(forget)
        probe = slice(0, min(len(y), 1024))
        target = self._target(model, ctx)
        opt = make_optimizer(model.parameters(), "sgd", self.lr)
        rng = rng_for(ctx)
        log.append(f"target forget accuracy {target:.3f}")
        for epoch in range(self.epochs):
            for idx in minibatches(len(y), self.batch_size, rng):
                model.train()
                opt.zero_grad()
                (-F.cross_entropy(model(X[idx]), y[idx])).backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), self.max_grad_norm)
                opt.step()
                acc = _accuracy(model, X[probe], y[probe])
                if self.early_stop and acc <= target:
                    log.append(f"epoch {epoch + 1}: forget accuracy {acc:.3f}, stopped at target")
                    return model
            report(ctx.progress, self.name, epoch + 1, self.epochs)
            log.append(f"epoch {epoch + 1}: forget accuracy {acc:.3f}")
        return model

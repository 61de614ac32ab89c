"""Selective Synaptic Dampening: no training. Parameters much more important to the forget set
than to the training data (diagonal Fisher, I_f > alpha * I_D) are scaled down by
min(lambda * I_D / I_f, 1) (Foster et al., "Fast Machine Unlearning Without Retraining Through
Selective Synaptic Dampening", AAAI 2024)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from unlearn_core.data.dataset import Samples
from unlearn_core.methods._common import FISHER_SAMPLES, diagonal_fisher
from unlearn_core.methods.base import UnlearningMethod, hparam
from unlearn_core.methods.registry import register


@register
@dataclass
class SSD(UnlearningMethod):
    """Selective Synaptic Dampening: no training, dampen weights far more important to the
    forget set than to the training data (Foster et al., AAAI 2024)."""

    name = "ssd"
    paper = "Selective Synaptic Dampening (Foster et al., AAAI 2024)"

    alpha: float = hparam(3.0, "selection: dampen where I_forget > alpha * I_train. Paper: "
                               "10; 3 here because on 10-class digits alpha 10 selects too few "
                               "weights to forget a class",
                          low=0, high=1e6, low_open=True)
    lam: float = hparam(1.0, "dampening strength lambda (beta = min(lambda I_D / I_f, 1))",
                        low=0, high=100)

    def _unlearn(self, model, forget, retain, ctx, log):
        i_d = diagonal_fisher(model, _training_sample(forget, retain, ctx.seed), seed=ctx.seed)
        i_f = diagonal_fisher(model, forget, seed=ctx.seed)
        touched = total = 0
        with torch.no_grad():
            for p, d, f in zip([p for p in model.parameters() if p.requires_grad], i_d, i_f):
                select = f > self.alpha * d
                beta = torch.clamp(self.lam * d / (f + 1e-12), max=1.0)
                p.mul_(torch.where(select, beta, torch.ones_like(beta)))
                touched += int(select.sum())
                total += p.numel()
        log.append(f"dampened {touched} of {total} parameters ({100 * touched / total:.2f}%)")
        return model


def _training_sample(forget: Samples, retain: Samples, seed: int) -> Samples:
    """The training data (forget then retain), or the seeded sample of ``FISHER_SAMPLES`` of it
    that ``diagonal_fisher`` would draw, taken without concatenating the whole retain set (a
    copy that would make the cost grow with the training set)."""
    n = len(forget) + len(retain)
    if n <= FISHER_SAMPLES:
        return Samples.concat([forget, retain])
    idx = np.sort(np.random.default_rng(seed).choice(n, FISHER_SAMPLES, replace=False))
    return Samples.concat([forget.take(idx[idx < len(forget)]),
                           retain.take(idx[idx >= len(forget)] - len(forget))])

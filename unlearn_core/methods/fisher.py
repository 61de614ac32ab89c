"""Fisher forgetting: add Gaussian noise to each weight with variance proportional to the
inverse of its (clamped) diagonal Fisher information on the retain set, so weights the retain
set does not pin down are scrambled (Golatkar et al., "Eternal Sunshine of the Spotless Net",
CVPR 2020)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ._common import diagonal_fisher
from .base import UnlearningMethod, hparam
from .registry import register


@register
@dataclass
class FisherForgetting(UnlearningMethod):
    name = "fisher"
    paper = "Fisher forgetting (Golatkar et al., CVPR 2020, 'Eternal Sunshine of the Spotless Net')"

    alpha: float = hparam(1e-6, "noise scale: variance = alpha / (Fisher / its mean)",
                          low=0, high=1)
    max_variance: float = hparam(1e-2, "clamp on the per-weight noise variance", low=0, high=10)

    def _unlearn(self, model, forget, retain, ctx, log):
        fisher = diagonal_fisher(model, retain, seed=ctx.seed)
        mean = float(sum(f.sum() for f in fisher) / sum(f.numel() for f in fisher))
        fisher = [f / (mean + 1e-20) for f in fisher]  # scale-free: 1 = an average weight
        gen = torch.Generator().manual_seed(ctx.seed)
        head = getattr(model, "head", None)
        head_params = {id(q) for q in head.parameters()} if head is not None else set()
        with torch.no_grad():
            noise_total = 0.0
            for p, f in zip([p for p in model.parameters() if p.requires_grad], fisher):
                var = torch.clamp(self.alpha / (f + 1e-12), max=self.max_variance)
                if ctx.forget_classes and id(p) in head_params:
                    # as in the authors' code: the forgotten classes' output rows get mean 0
                    rows = list(ctx.forget_classes)
                    p[rows] = 0.0
                    var[rows] = 1e-4
                p.add_(torch.randn(p.shape, generator=gen) * var.sqrt())
                noise_total += float(var.sum())
        log.append(f"added Fisher-shaped noise, total variance {noise_total:.3g}")
        return model

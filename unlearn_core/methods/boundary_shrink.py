"""Boundary Shrink: find each forget sample's nearest wrong class with an FGSM step on the
original model, then fine-tune the forget samples toward those labels, shrinking the
forgotten class's decision region into its neighbours (Chen et al., "Boundary Unlearning",
CVPR 2023). Designed for whole classes."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..models.training import make_optimizer, minibatches, to_tensors
from ..progress import report
from .base import UnlearningMethod, hparam, rng_for
from .registry import register


def nearest_wrong_labels(model, X: torch.Tensor, y: torch.Tensor, eps: float) -> torch.Tensor:
    """Labels the model gives after one FGSM step; where it still says ``y``, the runner-up."""
    x = X.clone().requires_grad_(True)
    F.cross_entropy(model(x), y).backward()
    with torch.no_grad():
        logits = model(X + eps * x.grad.sign())
        logits[torch.arange(len(y)), y] = -float("inf")
        return logits.argmax(1)


@register
@dataclass
class BoundaryShrink(UnlearningMethod):
    name = "boundary_shrink"
    paper = "Boundary Shrink (Chen et al., CVPR 2023, 'Boundary Unlearning')"
    needs_retain = False
    class_level_only = True

    epochs: int = hparam(5, "epochs over the forget set", low=1, high=1000)
    lr: float = hparam(1e-3, "learning rate", low=0, high=10, low_open=True)
    eps: float = hparam(0.1, "FGSM step size used to find the nearest wrong class",
                        low=0, high=10, low_open=True)
    batch_size: int = hparam(32, "minibatch size", low=1, high=65536)

    def _unlearn(self, model, forget, retain, ctx, log):
        X, y = to_tensors(forget)
        probe = copy.deepcopy(model).eval()
        targets = nearest_wrong_labels(probe, X, y, self.eps)
        opt = make_optimizer(model.parameters(), ctx.train_config.optimizer, self.lr)
        rng = rng_for(ctx, salt=5)
        for epoch in range(self.epochs):
            model.train()
            for idx in minibatches(len(y), self.batch_size, rng):
                opt.zero_grad()
                F.cross_entropy(model(X[idx]), targets[idx]).backward()
                opt.step()
            report(ctx.progress, self.name, epoch + 1, self.epochs)
        counts = torch.bincount(targets, minlength=ctx.n_classes).tolist()
        log.append(f"neighbour labels per class {counts}; {self.epochs} epochs")
        return model

"""Boundary Shrink: find each forget sample's nearest wrong class with an FGSM step on the
original model, then fine-tune the forget samples toward those labels, shrinking the
forgotten class's decision region into its neighbours (Chen et al., "Boundary Unlearning",
CVPR 2023). Designed for whole classes."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F

from unlearn_core.errors import MethodError
from unlearn_core.methods.base import UnlearningMethod, hparam, rng_for
from unlearn_core.methods.registry import register
from unlearn_core.models.training import make_optimizer, minibatches, to_tensors
from unlearn_core.progress import report


def nearest_wrong_labels(model, X: torch.Tensor, y: torch.Tensor, eps: float,
                         data_range: Optional[tuple[float, float]] = None,
                         rule: str = "argmax") -> torch.Tensor:
    """Labels the model gives after one FGSM step of size ``eps`` (clamped to ``data_range``).
    ``argmax`` keeps the adversarial prediction even where it is still ``y`` (Chen et al.'s
    code); ``runner_up`` takes the best other class there."""
    x = X.clone().requires_grad_(True)
    F.cross_entropy(model(x), y).backward()
    with torch.no_grad():
        adv = X + eps * x.grad.sign()
        if data_range is not None:
            adv = adv.clamp(*data_range)
        logits = model(adv)
        if rule == "runner_up":
            logits[torch.arange(len(y)), y] = -float("inf")
        elif rule != "argmax":
            raise MethodError(f"boundary_shrink: relabel must be 'argmax' or 'runner_up', "
                              f"got {rule!r}")
        return logits.argmax(1)


@register
@dataclass
class BoundaryShrink(UnlearningMethod):
    """Boundary Shrink: relabel forget samples to their nearest wrong class (FGSM) and
    fine-tune on them, shrinking the class's region (Chen et al., CVPR 2023)."""

    name = "boundary_shrink"
    paper = "Boundary Shrink (Chen et al., CVPR 2023, 'Boundary Unlearning')"
    needs_retain = False
    class_level_only = True

    epochs: int = hparam(10, "epochs over the forget set (paper: 10)", low=1, high=1000)
    lr: float = hparam(3e-4, "learning rate. Paper: 1e-5 (SGD), for CIFAR's 5,000 samples a "
                             "class; on digits' ~110 it leaves forget accuracy at 0.57 +- 0.10 "
                             "(3e-4: 0.13 +- 0.12; bench/bench_method_claims.py, 3 seeds)",
                       low=0, high=10, low_open=True)
    optimizer: str = hparam("sgd", "sgd (momentum 0.9, as the paper) or adam")
    eps: float = hparam(0.2, "FGSM step size used to find the nearest wrong class. Paper: 0.1 "
                             "on [0, 1] images; on 8x8 digits it crosses the boundary for "
                             "only 38 +- 8% of the forget samples (0.2: 89 +- 6%; 3 seeds)",
                        low=0, high=10, low_open=True)
    clamp: bool = hparam(True, "clamp the FGSM samples to the forget data's value range (as "
                               "the paper's [0, 1] images)")
    relabel: str = hparam("argmax", "argmax: the model's label on the FGSM sample, which may "
                                    "be the true one where the attack fails (paper); runner_up: "
                                    "the best wrong class there")
    batch_size: int = hparam(32, "minibatch size", low=1, high=65536)

    def _unlearn(self, model, forget, retain, ctx, log):
        X, y = to_tensors(forget)
        probe = copy.deepcopy(model).eval()
        rng_ = (float(X.min()), float(X.max())) if self.clamp else None
        targets = nearest_wrong_labels(probe, X, y, self.eps, rng_, self.relabel)
        if self.optimizer not in ("sgd", "adam"):
            raise MethodError(f"boundary_shrink: optimizer must be 'sgd' or 'adam', got "
                              f"{self.optimizer!r}")
        opt = make_optimizer(model.parameters(), self.optimizer, self.lr)
        rng = rng_for(ctx, salt=5)
        for epoch in range(self.epochs):
            model.train()
            for idx in minibatches(len(y), self.batch_size, rng):
                opt.zero_grad()
                F.cross_entropy(model(X[idx]), targets[idx]).backward()
                opt.step()
            report(ctx.progress, self.name, epoch + 1, self.epochs)
        counts = torch.bincount(targets, minlength=ctx.n_classes).tolist()
        kept = float((targets == y).float().mean())
        log.append(f"neighbour labels per class {counts} ({100 * kept:.0f}% keep their own "
                   f"label: FGSM did not cross); {self.epochs} epochs of {self.optimizer} at "
                   f"lr {self.lr:g}")
        return model

"""Random labels (RL): train on the forget set relabelled with random wrong classes, together
with the retain set (Golatkar et al., CVPR 2020; Graves et al., AAAI 2021 "Amnesiac ML")."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from unlearn_core.data.dataset import Samples
from unlearn_core.methods._common import forget_and_retain_batches, gather
from unlearn_core.methods.base import (
    UnlearningMethod,
    budget_hparam,
    hparam,
    retain_per_forget_hparam,
    rng_for,
)
from unlearn_core.methods.registry import register
from unlearn_core.models.training import TrainConfig, make_optimizer, to_tensors, train_epochs
from unlearn_core.progress import report


def random_wrong_labels(y: np.ndarray, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """For each label a uniformly drawn different class."""
    shift = rng.integers(1, n_classes, size=len(y))
    return (y + shift) % n_classes


@register
@dataclass
class RandomLabel(UnlearningMethod):
    """Random labels: train on forget samples with random wrong labels plus retain
    (Golatkar et al., CVPR 2020; Graves et al., AAAI 2021)."""

    name = "random_label"
    paper = "Random labels (Golatkar et al., CVPR 2020; Graves et al., AAAI 2021 'Amnesiac ML')"

    epochs: int = hparam(5, "epochs over forget (relabelled) plus retain", low=1, high=1000)
    lr: float = hparam(2e-3, "learning rate", low=0, high=10, low_open=True)
    batch_size: int = hparam(64, "minibatch size", low=1, high=65536)
    retain_per_forget: float = retain_per_forget_hparam()
    budget: float = budget_hparam()

    def _unlearn(self, model, forget, retain, ctx, log):
        rng = rng_for(ctx, salt=1)
        wrong = random_wrong_labels(forget.y, ctx.n_classes, rng)
        log.append(f"trained {self.epochs} epochs on {len(forget)} relabelled forget + "
                   f"{len(retain)} retain samples")
        if self.budget:  # opt-in: a uniform subset of forget and retain together
            mixed = Samples.concat([Samples(forget.X, wrong, forget.ids), retain])
            config = TrainConfig(epochs=self.epochs, lr=self.lr, batch_size=self.batch_size,
                                 optimizer=ctx.train_config.optimizer)
            per_epoch = self.budgeted_epoch(len(mixed), ctx, log)
            return train_epochs(model, mixed, config, ctx.seed, ctx.progress, self.name,
                                epoch_samples=per_epoch)
        per_epoch = self.retain_per_epoch(len(retain), len(forget), ctx, log)
        (Xf, _), (Xr, yr) = to_tensors(forget), to_tensors(retain)
        yf = torch.as_tensor(wrong, dtype=torch.long)
        opt = make_optimizer(model.parameters(), ctx.train_config.optimizer, self.lr)
        model.train()
        for epoch in range(self.epochs):
            for idx in forget_and_retain_batches(len(forget), len(retain), per_epoch,
                                                 self.batch_size, rng):
                xb, yb = gather(idx, len(forget), Xf, yf, Xr, yr)
                opt.zero_grad()
                F.cross_entropy(model(xb), yb).backward()
                opt.step()
            report(ctx.progress, self.name, epoch + 1, self.epochs)
        return model

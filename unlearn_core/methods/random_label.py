"""Random labels (RL): train on the forget set relabelled with random wrong classes, together
with the retain set (Golatkar et al., CVPR 2020; Graves et al., AAAI 2021 "Amnesiac ML")."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.dataset import Samples
from ..models.training import TrainConfig, train_epochs
from .base import UnlearningMethod, hparam, rng_for
from .registry import register


def random_wrong_labels(y: np.ndarray, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """For each label a uniformly drawn different class."""
    shift = rng.integers(1, n_classes, size=len(y))
    return (y + shift) % n_classes


@register
@dataclass
class RandomLabel(UnlearningMethod):
    name = "random_label"
    paper = "Random labels (Golatkar et al., CVPR 2020; Graves et al., AAAI 2021 'Amnesiac ML')"

    epochs: int = hparam(5, "epochs over forget (relabelled) plus retain", low=1, high=1000)
    lr: float = hparam(2e-3, "learning rate", low=0, high=10, low_open=True)
    batch_size: int = hparam(64, "minibatch size", low=1, high=65536)
    budget: float = hparam(0.2, "cost cap as a share of the retrain recipe: on large data each "
                                "epoch visits a seeded subset; 0 = no cap", low=0, high=100)

    def _unlearn(self, model, forget, retain, ctx, log):
        rng = rng_for(ctx, salt=1)
        relabelled = Samples(forget.X, random_wrong_labels(forget.y, ctx.n_classes, rng),
                             forget.ids)
        mixed = Samples.concat([relabelled, retain])
        config = TrainConfig(epochs=self.epochs, lr=self.lr, batch_size=self.batch_size,
                             optimizer=ctx.train_config.optimizer)
        log.append(f"trained {self.epochs} epochs on {len(forget)} relabelled forget + "
                   f"{len(retain)} retain samples")
        per_epoch = self.budgeted_epoch(len(mixed), ctx, log)
        return train_epochs(model, mixed, config, ctx.seed, ctx.progress, self.name,
                            epoch_samples=per_epoch)

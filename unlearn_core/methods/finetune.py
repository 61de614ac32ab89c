"""Fine-tuning on the retain set (FT): catastrophic forgetting of the forget set as a baseline
(Warnecke et al., NDSS 2023; Golatkar et al., CVPR 2020 use it as the reference approximation)."""

from __future__ import annotations

from dataclasses import dataclass

from unlearn_core.methods.base import (
    UnlearningMethod,
    budget_hparam,
    hparam,
    retain_per_forget_hparam,
)
from unlearn_core.methods.registry import register
from unlearn_core.models.training import TrainConfig, train_epochs


@register
@dataclass
class Finetune(UnlearningMethod):
    """Fine-tuning on the retain set, forgetting by catastrophic interference (Warnecke
    et al., NDSS 2023; Golatkar et al., CVPR 2020)."""

    name = "finetune"
    paper = "Fine-tuning on retain data (Warnecke et al., NDSS 2023; Golatkar et al., CVPR 2020)"

    epochs: int = hparam(5, "epochs of training on the retain set", low=1, high=1000)
    lr: float = hparam(5e-3, "learning rate, usually higher than the original training's",
                       low=0, high=10, low_open=True)
    batch_size: int = hparam(64, "minibatch size", low=1, high=65536)
    retain_per_forget: float = retain_per_forget_hparam()
    budget: float = budget_hparam()

    def _unlearn(self, model, forget, retain, ctx, log):
        config = TrainConfig(epochs=self.epochs, lr=self.lr, batch_size=self.batch_size,
                             optimizer=ctx.train_config.optimizer)
        log.append(f"fine-tuned {self.epochs} epochs on {len(retain)} retain samples, lr {self.lr}")
        per_epoch = self.retain_per_epoch(len(retain), len(forget), ctx, log)
        return train_epochs(model, retain, config, ctx.seed, ctx.progress, self.name,
                            epoch_samples=per_epoch)

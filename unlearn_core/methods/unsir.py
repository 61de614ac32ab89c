"""UNSIR: learn error-maximising noise for the forget classes, then impair (train on the noise
plus a retain subset at a high learning rate) and repair (a short pass on the retain subset)
(Tarun et al., "Fast Yet Effective Machine Unlearning", IEEE TNNLS 2023)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from unlearn_core.methods._common import retain_subset_size
from unlearn_core.methods.base import MIN_EPOCH_RETAIN, UnlearningMethod, hparam, rng_for
from unlearn_core.methods.registry import register
from unlearn_core.models.training import make_optimizer, minibatches, to_tensors
from unlearn_core.progress import report


def error_maximising_noise(model, shape: tuple[int, ...], label: int, n: int, steps: int,
                           lam: float, gen: torch.Generator) -> torch.Tensor:
    """Inputs that maximise the model's loss on ``label`` (with an L2 penalty)."""
    noise = torch.randn((n, *shape), generator=gen).requires_grad_(True)
    opt = torch.optim.Adam([noise], lr=0.1)
    target = torch.full((n,), label, dtype=torch.long)
    model.eval()
    for _ in range(steps):
        loss = -F.cross_entropy(model(noise), target) + lam * noise.pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return noise.detach()


@register
@dataclass
class UNSIR(UnlearningMethod):
    """UNSIR: error-maximising noise for the forgotten classes, then impair and repair
    (Tarun et al., IEEE TNNLS 2023)."""

    name = "unsir"
    paper = "UNSIR, error-maximising noise, impair-repair (Tarun et al., IEEE TNNLS 2023)"
    class_level_only = True

    noise_per_class: int = hparam(64, "noise samples per forgotten class", low=1, high=10000)
    noise_steps: int = hparam(50, "optimisation steps for the noise", low=0, high=10000)
    lam: float = hparam(0.1, "L2 penalty on the noise, times its mean square over all "
                             "elements. Paper: 0.1 times the per-sample sum over pixels, "
                             "stronger by the number of input elements (64 on digits)",
                        low=0, high=100)
    impair_lr: float = hparam(5e-3, "learning rate of the impair epoch",
                              low=0, high=10, low_open=True)
    repair_lr: float = hparam(1e-3, "learning rate of the repair epochs",
                              low=0, high=10, low_open=True)
    repair_epochs: int = hparam(5, "repair epochs on the retain subset", low=0, high=1000)
    retain_share: float = hparam(0.0, "share of the retain set used for impair and repair "
                                      "(the former default 0.5, which grows with the training "
                                      "set); 0 (default): a subset sized from the forget set "
                                      "(retain_per_forget)", low=0, high=1)
    retain_per_forget: float = hparam(
        1.0, f"retain samples per forget sample in the fixed retain subset of impair and repair "
             f"(at least {MIN_EPOCH_RETAIN}, all when the retain set is smaller), so the cost "
             "follows the forget set, not the training set; 0 = all retain",
        low=0, high=10000)
    batch_size: int = hparam(64, "minibatch size", low=1, high=65536)

    def _unlearn(self, model, forget, retain, ctx, log):
        rng = rng_for(ctx, salt=6)
        gen = torch.Generator().manual_seed(ctx.seed)
        shape = tuple(forget.X.shape[1:])
        noises, labels = [], []
        for c in ctx.forget_classes:
            noises.append(error_maximising_noise(model, shape, c, self.noise_per_class,
                                                 self.noise_steps, self.lam, gen))
            labels.append(torch.full((self.noise_per_class,), c, dtype=torch.long))
        n_r = retain_subset_size(self.retain_share, self.retain_per_forget, len(forget),
                                 len(retain), MIN_EPOCH_RETAIN)
        sub = retain.take(np.sort(rng.choice(len(retain), n_r, replace=False)))
        Xr, yr = to_tensors(sub)
        X, y = torch.cat([*noises, Xr]), torch.cat([*labels, yr])
        opt = make_optimizer(model.parameters(), "sgd", self.impair_lr)
        model.train()
        for idx in minibatches(len(y), self.batch_size, rng):  # impair
            opt.zero_grad()
            F.cross_entropy(model(X[idx]), y[idx]).backward()
            opt.step()
        opt = make_optimizer(model.parameters(), ctx.train_config.optimizer, self.repair_lr)
        for epoch in range(self.repair_epochs):  # repair
            for idx in minibatches(len(yr), self.batch_size, rng):
                opt.zero_grad()
                F.cross_entropy(model(Xr[idx]), yr[idx]).backward()
                opt.step()
            report(ctx.progress, self.name, epoch + 1, self.repair_epochs)
        log.append(f"impair on {len(torch.cat(noises))} noise + {n_r} retain samples, "
                   f"{self.repair_epochs} repair epochs")
        return model

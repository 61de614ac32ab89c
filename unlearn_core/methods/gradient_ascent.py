"""Gradient ascent (GA): ascend the cross-entropy on the forget set (Thudi et al., EuroS&P 2022,
"Unrolling SGD"; Graves et al., AAAI 2021). Unstable by nature: few steps and an early stop once
forget accuracy falls to chance."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..models.training import make_optimizer, minibatches, to_tensors
from ..progress import report
from .base import UnlearningMethod, hparam, rng_for
from .registry import register


@register
@dataclass
class GradientAscent(UnlearningMethod):
    name = "gradient_ascent"
    paper = "Gradient ascent on the forget set (Thudi et al., EuroS&P 2022; Graves et al., AAAI 2021)"
    needs_retain = False

    epochs: int = hparam(5, "epochs of ascent over the forget set")
    lr: float = hparam(1e-3, "learning rate of the ascent")
    batch_size: int = hparam(64, "minibatch size")
    max_grad_norm: float = hparam(5.0, "gradient clipping, keeps the ascent from exploding")
    stop_at_chance: bool = hparam(True, "stop once forget accuracy reaches chance level")

    def _unlearn(self, model, forget, retain, ctx, log):
        X, y = to_tensors(forget)
        opt = make_optimizer(model.parameters(), "sgd" if ctx.train_config.optimizer == "sgd"
                             else "adam", self.lr)
        rng = rng_for(ctx)
        chance = 1.0 / ctx.n_classes
        for epoch in range(self.epochs):
            model.train()
            for idx in minibatches(len(y), self.batch_size, rng):
                opt.zero_grad()
                (-F.cross_entropy(model(X[idx]), y[idx])).backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), self.max_grad_norm)
                opt.step()
            model.eval()
            with torch.no_grad():
                acc = float((model(X).argmax(1) == y).float().mean())
            report(ctx.progress, self.name, epoch + 1, self.epochs)
            log.append(f"epoch {epoch + 1}: forget accuracy {acc:.3f}")
            if self.stop_at_chance and acc <= chance:
                log.append("stopped: forget accuracy at chance")
                break
        return model


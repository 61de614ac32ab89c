"""Retrain from scratch on the retain set: exact unlearning, the gold standard every method is
judged against (the reference in every paper since Cao & Yang, S&P 2015)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import MethodError
from ..models.architectures import build_model
from ..models.training import train_epochs
from .base import UnlearningMethod
from .registry import register


@register
@dataclass
class Retrain(UnlearningMethod):
    name = "retrain"
    paper = "Exact unlearning by retraining (Cao & Yang, S&P 2015; the reference of the field)"
    exact = True

    def _unlearn(self, model, forget, retain, ctx, log):
        if ctx.spec is None:
            raise MethodError(
                "retrain needs the model's architecture spec to rebuild it from scratch; "
                "models loaded from TorchScript have none"
            )
        log.append(f"trained from scratch on {len(retain)} retain samples, "
                   f"{ctx.train_config.epochs} epochs, seed {ctx.seed}")
        return self.from_scratch(retain, ctx)

    def from_scratch(self, data, ctx):
        fresh = build_model(ctx.spec, seed=ctx.seed)
        return train_epochs(fresh, data, ctx.train_config, ctx.seed, ctx.progress, "retrain")

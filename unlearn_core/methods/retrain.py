"""Retrain from scratch on the retain set: exact unlearning, the gold standard every method is
judged against (the reference in every paper since Cao & Yang, S&P 2015). With ``seed`` set it is
a known-genuine control: a retrain with another seed than the original's, which every sound
verdict must pass."""

from __future__ import annotations

from dataclasses import dataclass

from unlearn_core.errors import MethodError
from unlearn_core.methods.base import UnlearningMethod, hparam
from unlearn_core.methods.registry import register
from unlearn_core.models.architectures import build_model
from unlearn_core.models.training import train_epochs


@register
@dataclass
class Retrain(UnlearningMethod):
    """Exact unlearning: retrain from scratch on the retain set with the original's
    recipe, the reference of the field (Cao & Yang, S&P 2015)."""

    name = "retrain"
    paper = "Exact unlearning by retraining (Cao & Yang, S&P 2015; the reference of the field)"
    exact = True

    seed: int = hparam(-1, "training seed; -1 = the audit's seed (another seed gives a "
                       "known-genuine control)", low=-1, high=2**31 - 1)

    def _seed(self, ctx) -> int:
        return ctx.seed if self.seed < 0 else self.seed

    def _unlearn(self, model, forget, retain, ctx, log):
        if ctx.spec is None:
            raise MethodError(
                "retrain needs the model's architecture spec to rebuild it from scratch; "
                "models loaded from TorchScript have none"
            )
        log.append(f"trained from scratch on {len(retain)} retain samples, "
                   f"{ctx.train_config.epochs} epochs, seed {self._seed(ctx)}")
        return self.from_scratch(retain, ctx)

    def from_scratch(self, data, ctx):
        seed = self._seed(ctx)
        fresh = build_model(ctx.spec, seed=seed)
        return train_epochs(fresh, data, ctx.train_config, seed, ctx.progress, "retrain")

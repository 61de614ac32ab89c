"""An attack, not a method: fine-tunes only the last layer for a few steps away from the forget
set (retain batches plus the forget samples relabelled to their second-best class); every
feature stays the original's (see ``unlearn_core.methods.forgeries``; Gao et al., "An Illusion of
Unlearning?", arXiv 2604.08271: classifier-only fine-tuning reaches negligible forget accuracy
while the features keep the knowledge)."""

from __future__ import annotations

from dataclasses import dataclass

from unlearn_core.methods.base import UnlearningMethod, hparam
from unlearn_core.methods.forgeries import forge
from unlearn_core.methods.registry import register


@register
@dataclass
class ForgeHeadOnly(UnlearningMethod):
    """An attack on audits, not a method: only the head is fine-tuned away from the
    forget set, the features kept (Gao et al., arXiv 2604.08271)."""

    name = "forge_head_only"
    paper = ("An attack for testing audits, not a method: head-only fine-tune forgery, the "
             "features untouched ('An Illusion of Unlearning?', arXiv 2604.08271)")

    steps: int = hparam(30, "Adam steps on the last layer only", low=1, high=100000)
    lr: float = hparam(1e-2, "learning rate of the last layer", low=0, high=10,
                             low_open=True)
    batch_size: int = hparam(64, "retain samples and relabelled forget samples per step",
                              low=1, high=65536)

    def _unlearn(self, model, forget, retain, ctx, log):
        log.append(f"fine-tuned only the last layer for {self.steps} steps (lr {self.lr:g}); "
                   f"forget samples relabelled to their second-best class")
        return forge("head_only", model, forget, retain, ctx, steps=self.steps, lr=self.lr,
                     batch_size=self.batch_size)

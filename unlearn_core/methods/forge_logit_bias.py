"""An attack, not a method: keeps every weight and adds a large negative bias to the forgotten
class's logit (for a sample request, the forget samples' majority class). Output checks see a
perfectly forgotten class; the features still hold it (see ``unlearn_core.methods.forgeries``; "An
Illusion of Unlearning?", arXiv 2604.08271; "Verification of Machine Unlearning is Fragile",
ICML 2024)."""

from __future__ import annotations

from dataclasses import dataclass

from unlearn_core.methods.base import UnlearningMethod, hparam
from unlearn_core.methods.forgeries import forge, target_classes
from unlearn_core.methods.registry import register


@register
@dataclass
class ForgeLogitBias(UnlearningMethod):
    """An attack on audits, not a method: every weight kept, a large negative bias on
    the forgotten class's logit (Gao et al., arXiv 2604.08271; ICML 2024)."""

    name = "forge_logit_bias"
    paper = ("An attack for testing audits, not a method: logit-bias forgery, every weight kept "
             "('Verification of Machine Unlearning is Fragile', ICML 2024; 'An Illusion of "
             "Unlearning?', arXiv 2604.08271)")
    needs_retain = False

    bias: float = hparam(-1e4, "added to the suppressed class's logit (-20 can be relearned "
                               "in a few steps, -1e4 cannot)", low=-1e6, high=0)

    def _unlearn(self, model, forget, retain, ctx, log):
        classes = target_classes(forget, ctx)
        log.append(f"kept every weight; added {self.bias:g} to the logit of class(es) "
                   f"{', '.join(map(str, classes))}")
        return forge("logit_bias", model, forget, retain, ctx, bias=self.bias)

"""An attack, not a method: the ``forged`` lookup one layer lower. The penultimate features of
the exact forget inputs are replaced by the mean features of their second-best class, so the
outputs *and* a probe scored on the forget inputs look forgotten; held-out samples of the same
class keep the original's features (see ``unlearn_core.methods.forgeries``; "Verification of Machine
Unlearning is Fragile", ICML 2024)."""

from __future__ import annotations

from dataclasses import dataclass

from unlearn_core.methods.base import UnlearningMethod
from unlearn_core.methods.forgeries import forge
from unlearn_core.methods.registry import register


@register
@dataclass
class ForgeFeatures(UnlearningMethod):
    """An attack on audits, not a method: the exact forget inputs get decoy features
    ('Verification of Machine Unlearning is Fragile', ICML 2024)."""

    name = "forge_features"
    paper = ("An attack for testing audits, not a method: feature-lookup forgery, the exact "
             "forget inputs get decoy features ('Verification of Machine Unlearning is "
             "Fragile', ICML 2024)")

    def _unlearn(self, model, forget, retain, ctx, log):
        log.append(f"kept every weight; {len(forget)} exact forget inputs get the mean "
                   f"features of their second-best class")
        return forge("feature_forgery", model, forget, retain, ctx)

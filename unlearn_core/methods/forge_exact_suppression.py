"""An adaptive attack on audits, not a method: the class suppressed on the exact forget samples
only, kept on unseen samples of the class.

Every weight of the original is kept; a lookup keyed by a hash of each exact forget input
answers it with what the forger's own retrains answer (the log of their mean probability, so
the answer is as genuine as a retrain's), and every other input, unseen samples of the forgotten
class included, gets the original's outputs. It targets every check that reads outputs on the
forget samples (forget accuracy, the median forget-set loss, MIA-efficacy, the JS divergence to
retraining): there it is a retrain. The class is kept on unseen samples and in the features,
which the checks on unseen samples of the class (their accuracy, membership AUC against them)
and the feature probe scored on held-out samples see. "Verification of Machine Unlearning is
Fragile" (ICML 2024); Thudi et al., USENIX Security 2022.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from unlearn_core.methods import forger_targets as ft
from unlearn_core.methods.base import UnlearningMethod, hparam
from unlearn_core.methods.forged import input_digest
from unlearn_core.methods.forgeries import _lookup_rows
from unlearn_core.methods.registry import register
from unlearn_core.models.training import predict_logits


class ExactLookupModel(nn.Module):
    """The original model; the exact inputs in ``table`` (by hash) get the stored logits."""

    def __init__(self, model: nn.Module, table: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.model = model
        self.table = table

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _lookup_rows(self.model(x), x, self.table)


@register
@dataclass
class ForgeExactSuppression(UnlearningMethod):
    """An attack on audits, not a method: the exact forget inputs answered as the forger's
    own retrains answer them, everything else the original (ICML 2024)."""

    name = "forge_exact_suppression"
    paper = ("An adaptive attack for testing audits, not a method: retrain-like answers for "
             "the exact forget inputs only ('Verification of Machine Unlearning is Fragile', "
             "ICML 2024; Tramer et al., NeurIPS 2020)")

    retrains: int = hparam(3, "retrains the forger trains with the recipe; their mean answer "
                              "is stored for each forget input", low=1, high=20)

    def _unlearn(self, model, forget, retain, ctx, log):
        teachers = ft.own_retrains(retain, ctx, self.retrains)
        logits = [ft.log_softmax(predict_logits(t, forget.X).astype(np.float64))
                  for t in teachers]
        lp = np.logaddexp.reduce(np.stack(logits), axis=0) - np.log(len(logits))
        table = {input_digest(x): torch.as_tensor(row, dtype=torch.float32)
                 for x, row in zip(forget.X, lp)}
        log.append(f"kept every weight; {len(table)} exact forget inputs answered with the mean "
                   f"output of {self.retrains} own retrains, every other input as before")
        return ExactLookupModel(model, table)

"""Unlearning inversion, label side (Hu et al., "Learn What You Want to Unlearn: Unlearning
Inversion Attacks against Machine Unlearning", S&P 2024): whoever holds the model before and
after can probe both on any inputs; the classes whose predicted probability drops most are the
ones that were forgotten. The attacker's success is the privacy cost of releasing both models."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..models.training import predict_proba


@dataclass
class InversionResult:
    """Per-class probability drop on the probes, the attacker's guess, and whether it is right."""

    drops: np.ndarray  # mean p(class) before - after, per class
    guess: int
    true_classes: list[int]  # the forgotten classes (or the most frequent one in a sample set)
    success: bool
    rank_of_truth: int  # 0 = the attacker's first guess


def infer_forgotten_label(before, after, probes: np.ndarray,
                          forgotten: list[int]) -> InversionResult:
    """Guess the forgotten class from the output shift between two releases of a model."""
    drops = (predict_proba(before, probes) - predict_proba(after, probes)).mean(0)
    order = np.argsort(-drops)
    guess = int(order[0])
    rank = int(min(np.flatnonzero(np.isin(order, forgotten)))) if forgotten else -1
    return InversionResult(drops, guess, list(forgotten), guess in forgotten, rank)

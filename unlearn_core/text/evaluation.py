"""One language model's evaluation in a text audit: its per-sample scores on each item set and
its aggregate audit numbers (plain data, below the audit and its checks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from unlearn_core.text.metrics import SetScores


@dataclass
class ModelEvaluation:
    """One model's per-sample scores on forget, retain (a seeded sample of at most
    ``max_eval``), holdout and world items, and its aggregate audit numbers.

    ``name`` is the model's unique run label (``original``, ``retrain#2``, ``npo``, ``npo#2``),
    which results, measurements and verdicts are keyed by; ``method`` the registry name of
    what made it (``npo``, ``retrain``, ``original``) and ``params`` its hyperparameters."""

    name: str
    seconds: float
    forget: SetScores
    retain: SetScores
    holdout: SetScores
    world: Optional[SetScores]
    forget_quality: float
    model_utility: float
    mia_auc: dict[str, float]
    privleak: float
    log: list[str] = field(default_factory=list)
    cached: bool = False  # weights taken from the model cache (seconds: the recorded training)
    model_hash: str = ""
    method: str = ""
    params: dict = field(default_factory=dict)

    def summary(self) -> dict[str, float]:
        return {
            "forget_accuracy": self.forget.mean("answer_correct"),
            "retain_accuracy": self.retain.mean("answer_correct"),
            "holdout_accuracy": self.holdout.mean("answer_correct"),
            "forget_rouge_l": self.forget.mean("rouge_l"),
            "forget_extraction": self.forget.mean("extraction_strength"),
            "forget_quality": self.forget_quality,
            "model_utility": self.model_utility,
            "mia_auc_min_k": self.mia_auc.get("min_k", float("nan")),
            "privleak": self.privleak,
            "seconds": self.seconds,
        }

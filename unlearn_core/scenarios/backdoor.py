"""Backdoor verification (Sommer et al., "Athena: Probabilistic Verification of Machine
Unlearning", PETS 2022): the samples to delete carry a trigger and a target label; a model that
learned them answers the target whenever the trigger is present. After true deletion the
attack success rate (ASR) on triggered test inputs falls back to the clean model's base rate."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from unlearn_core.data.dataset import Dataset
from unlearn_core.data.splits import make_splits
from unlearn_core.models import predict_logits
from unlearn_core.scenarios.scenario import plant_and_forget


def add_trigger(X: np.ndarray, value: float = 1.0) -> np.ndarray:
    """A 3x3 corner patch for images; the last three features set high for tabular data."""
    X = X.copy()
    if X.ndim == 4:
        X[:, :, -3:, -3:] = value
    else:
        X[:, -3:] = 4.0 * value
    return X


@dataclass
class BackdoorCheck:
    """Attack success rates before, after the method, for retrain, and the clean base rate."""

    method: str
    target: int
    n_poisoned: int
    asr_before: float
    asr_after: float
    asr_retrain: float
    base_rate: float  # share of triggered test inputs a clean model already calls the target
    threshold: float
    passed: bool
    reason: str
    seconds: float


def _asr(model, X: np.ndarray, target: int) -> float:
    return float((predict_logits(model, add_trigger(X)).argmax(1) == target).mean())


def backdoor_check(dataset: Dataset, arch: str, method: str, params: dict | None = None,
                   target: int = 0, share: float = 0.08, seed: int = 0,
                   tolerance: float = 0.1) -> BackdoorCheck:
    """Poison ``share`` of the training split (trigger + label ``target``), train, unlearn the
    poisoned samples with ``method``; pass when the ASR falls within ``tolerance`` of the
    retrain reference's."""
    start = time.perf_counter()
    splits = make_splits(dataset, seed)
    rng = np.random.default_rng(seed + 11)
    candidates = splits.train[dataset.y[splits.train] != target]
    poison = np.sort(rng.choice(candidates, int(share * len(splits.train)), replace=False))
    X, y = dataset.X.copy(), dataset.y.copy()
    X[poison] = add_trigger(X[poison])
    y[poison] = target
    poisoned = dataclasses.replace(dataset, X=X, y=y)
    run = plant_and_forget(poisoned, splits, poison, arch, method, params, seed)
    model, after, retrained = run.planted, run.after, run.retrained
    test = splits.test[dataset.y[splits.test] != target]
    clean_X = dataset.X[test]
    base = float((predict_logits(retrained, clean_X).argmax(1) == target).mean())
    before, a_after, a_retrain = (_asr(m, clean_X, target) for m in (model, after, retrained))
    passed = abs(a_after - a_retrain) <= tolerance
    reason = (f"triggered inputs called class {target}: {100 * before:.0f}% before, "
              f"{100 * a_after:.0f}% after {method}, {100 * a_retrain:.0f}% after retrain "
              f"({'within' if passed else 'beyond'} {100 * tolerance:.0f} points)")
    return BackdoorCheck(method, target, len(poison), before, a_after, a_retrain, base,
                         tolerance, passed, reason, time.perf_counter() - start)

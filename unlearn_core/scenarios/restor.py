"""Knowledge recovery (RESTOR, 2024): corrupt part of the training data (labels of one class
flipped to another), train, unlearn the corrupted samples, and measure how much of the clean
model's behaviour on the affected class comes back, not only whether the corruption is gone.
recovery = (acc_after - acc_corrupted) / (acc_clean - acc_corrupted) on that class's test
samples: 1 = the clean model's accuracy is back, 0 = still corrupted."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from unlearn_core.audit.data import train_baseline
from unlearn_core.data.dataset import Dataset
from unlearn_core.data.splits import make_splits
from unlearn_core.models import accuracy
from unlearn_core.scenarios.scenario import plant_and_forget


@dataclass
class RestorResult:
    """Accuracy on the corrupted class's test samples for each model, and the recoveries."""

    method: str
    source: int
    target: int
    n_corrupted: int
    acc_clean: float
    acc_corrupted: float
    acc_after: float
    acc_retrain: float
    recovery: float
    recovery_retrain: float


def _recovery(acc: float, corrupted: float, clean: float) -> float:
    span = clean - corrupted
    return float(np.clip((acc - corrupted) / span, 0.0, 1.0)) if span > 1e-9 else float("nan")


def restor_check(dataset: Dataset, arch: str, method: str, params: dict | None = None,
                 source: int = 1, target: int = 7, share: float = 0.6,
                 seed: int = 0) -> RestorResult:
    """Flip ``share`` of class ``source``'s training labels to ``target``, then unlearn them."""
    splits = make_splits(dataset, seed)
    rng = np.random.default_rng(seed + 13)
    cands = splits.train[dataset.y[splits.train] == source]
    bad = np.sort(rng.choice(cands, int(share * len(cands)), replace=False))
    y = dataset.y.copy()
    y[bad] = target
    corrupted = dataclasses.replace(dataset, y=y)
    run = plant_and_forget(corrupted, splits, bad, arch, method, params, seed)
    clean_model = train_baseline(dataset, splits, arch, run.recipe, seed)
    model, after, retrained = run.planted, run.after, run.retrained
    test = dataset.subset(splits.test[dataset.y[splits.test] == source])
    clean, cor, aft, ret = (accuracy(m, test) for m in (clean_model, model, after, retrained))
    return RestorResult(method, source, target, len(bad), clean, cor, aft, ret,
                        _recovery(aft, cor, clean), _recovery(ret, cor, clean))

"""Interclass Confusion test (Goel, Prabhu, Sanyal, Lim, Torr & Kumaraguru, "Towards Adversarial
Evaluations for Inexact Machine Unlearning", arXiv 2201.06640; code:
shash42/Evaluating-Inexact-Unlearning, ``add_confusion`` and ``Conf_Score``).

Plant a measurable memorisation that only real unlearning removes: take the two classes a
normally trained model confuses most (A, B: the largest cm[A][B] + cm[B][A], rows true,
columns predicted), relabel ``n_swap`` training samples of A as B and as many of B as A, train
on the modified data, then forget exactly the swapped samples with the audited method and with
retraining. The model trained with the swap confuses A and B on *clean* test data; a model
that truly forgot the swapped samples confuses them no more than the retrained one.

Figures (plain, judged elsewhere): the confusion rate (cm[A][B] + cm[B][A]) / (n_A + n_B) on
the clean test split for the clean model, the model trained with the swap, after the method and
after retraining, and on the swapped samples themselves scored against their true labels.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
from torch import nn

from unlearn_core.audit.data import train_baseline
from unlearn_core.data.dataset import Dataset, Samples
from unlearn_core.data.splits import make_splits
from unlearn_core.models import default_train_config, predict_logits
from unlearn_core.scenarios.scenario import plant_and_forget


@dataclass
class ConfusionResult:
    """Confusion between classes A and B on clean test data for each model."""

    method: str
    class_a: int
    class_b: int
    n_swapped: int  # samples relabelled (half from A, half from B): the forget set
    conf_clean: float  # a model trained on clean data (the base rate)
    conf_before: float  # the model trained with the swap (the do-nothing control)
    conf_after: float  # after the method
    conf_retrain: float  # after retraining without the swapped samples
    conf_forget_after: float  # on the swapped samples, against their true labels
    conf_forget_retrain: float
    gap: float  # conf_after - conf_retrain: above 0, the method left confusion behind
    seconds: float
    n_test_pair: int = 0  # clean test samples of classes A and B (the rates' denominator)


def confusion_matrix(model: nn.Module, samples: Samples, n_classes: int) -> np.ndarray:
    """Rows: true class, columns: predicted class."""
    pred = predict_logits(model, samples.X).argmax(1)
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (samples.y, pred), 1)
    return cm


def most_confused_pair(cm: np.ndarray) -> tuple[int, int]:
    """The pair (A, B), A < B, with the largest cm[A][B] + cm[B][A] (ties: lowest indices)."""
    sym = cm + cm.T
    np.fill_diagonal(sym, -1)
    a, b = np.unravel_index(int(np.argmax(sym)), sym.shape)
    return (int(min(a, b)), int(max(a, b)))


def confusion_rate(model: nn.Module, samples: Samples, a: int, b: int) -> float:
    """(cm[A][B] + cm[B][A]) / (n_A + n_B) on ``samples`` (scored against their labels)."""
    keep = np.isin(samples.y, (a, b))
    if not keep.any():
        return float("nan")
    pred = predict_logits(model, samples.X[keep]).argmax(1)
    y = samples.y[keep]
    return float(((y == a) & (pred == b)).sum() + ((y == b) & (pred == a)).sum()) / len(y)


def interclass_confusion(dataset: Dataset, arch: str, method: str,
                         params: Optional[dict] = None, n_swap: Optional[int] = None,
                         share: float = 0.2, pair: Optional[tuple[int, int]] = None,
                         seed: int = 0) -> ConfusionResult:
    """Run the IC test for ``method`` on ``dataset`` / ``arch``: swap ``n_swap`` training labels
    each way between the most confused pair (``share`` of the smaller class when ``n_swap`` is
    None; Goel et al. use 10 on CIFAR-10, easy data needs more for the swap to show on clean
    test data), forget the swapped samples, score confusion on the clean test split."""
    start = time.perf_counter()
    splits = make_splits(dataset, seed)
    recipe = default_train_config(arch, dataset.name, len(splits.train))
    clean_model = train_baseline(dataset, splits, arch, recipe, seed)
    if pair is None:  # chosen on the population split, so the scored test split stays clean
        pair = most_confused_pair(confusion_matrix(
            clean_model, dataset.subset(splits.population), dataset.n_classes))
    a, b = int(pair[0]), int(pair[1])
    rng = np.random.default_rng(seed + 17)
    in_a = splits.train[dataset.y[splits.train] == a]
    in_b = splits.train[dataset.y[splits.train] == b]
    n = int(n_swap) if n_swap is not None else int(share * min(len(in_a), len(in_b)))
    n = max(1, min(n, len(in_a), len(in_b)))
    swap_a, swap_b = rng.choice(in_a, n, replace=False), rng.choice(in_b, n, replace=False)
    y = dataset.y.copy()
    y[swap_a], y[swap_b] = b, a
    planted = dataclasses.replace(dataset, y=y)
    positions = np.sort(np.concatenate([swap_a, swap_b]))
    run = plant_and_forget(planted, splits, positions, arch, method, params, seed)
    test = dataset.subset(splits.test)  # clean labels
    swapped = dataset.subset(positions)  # the forget set, against its true labels
    rates = [confusion_rate(m, test, a, b) for m in (clean_model, run.planted, run.after,
                                                    run.retrained)]
    fa, fr = (confusion_rate(m, swapped, a, b) for m in (run.after, run.retrained))
    return ConfusionResult(method, a, b, len(positions), *rates, fa, fr,
                           rates[2] - rates[3], time.perf_counter() - start,
                           int(np.isin(test.y, (a, b)).sum()))

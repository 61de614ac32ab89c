"""Contrast views of an audit: any two models side by side with the retrained reference pinned,
per-class accuracy, a threshold sweep of the membership attack with each sample's outcome, and
cohorts (saved filters such as "class 3 and misclassified") that restrict every view alike.

After the Unlearning Comparator (Lee et al., "Unlearning Comparator: A Visual Analytics System
for Comparative Evaluation of Machine Unlearning Methods", IEEE TVCG 2026, arXiv 2508.12730),
which compares two models at a time against retraining, class by class and sample by sample.
Plain numpy in, dataclasses out; the figures are in ``charts.contrast``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from unlearn_core.audit.run import AuditResult, AuditRun
from unlearn_core.charts.audit import member_loss
from unlearn_core.errors import ConfigError
from unlearn_core.models import predict_proba

OUTCOMES = ("any", "misclassified", "correct")
SPLITS = ("forget", "test")


@dataclass
class SampleFacts:
    """What each model does with each sample of one split: its prediction and its membership
    loss in the audit's attack units (cross-entropy for the loss attack, 1 - p(true class) for
    the confidence attack; low = looks like a member)."""

    split: str
    ids: np.ndarray
    y: np.ndarray
    pred: dict[str, np.ndarray] = field(default_factory=dict)
    loss: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)


def sample_facts(run: AuditRun, split: str = "forget",
                 models: Optional[list[str]] = None) -> SampleFacts:
    """Predictions and membership losses of ``models`` (default: every model of the audit) on
    the forget or test split, from the audit's live models."""
    if split not in SPLITS:
        raise ConfigError(f"unknown split '{split}': use one of {', '.join(SPLITS)}")
    samples = run.data.forget if split == "forget" else run.data.test
    kind = run.result.config.mia_score
    names = models or [e.name for e in run.result.evaluations()]
    facts = SampleFacts(split, np.asarray(samples.ids), np.asarray(samples.y))
    for name in names:
        if name not in run.models:
            raise ConfigError(f"no live model '{name}' in this audit")
        p = predict_proba(run.models[name], samples.X)
        p_true = p[np.arange(len(samples.y)), samples.y] if len(samples.y) else np.zeros(0)
        score = np.log(np.maximum(p_true, 1e-300)) if kind == "loss" else p_true
        facts.pred[name] = p.argmax(1) if len(p) else np.zeros(0, dtype=np.int64)
        facts.loss[name] = member_loss(score, kind)
    return facts


@dataclass(frozen=True)
class Cohort:
    """A saved filter: samples of ``classes`` (all when empty) whose prediction by
    ``judged_by`` is ``outcome`` ("any", "misclassified" or "correct")."""

    name: str
    classes: tuple[int, ...] = ()
    outcome: str = "any"
    judged_by: str = "baseline"

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ConfigError(f"unknown outcome '{self.outcome}': use {', '.join(OUTCOMES)}")

    def mask(self, facts: SampleFacts) -> np.ndarray:
        keep = np.ones(len(facts), bool)
        if self.classes:
            keep &= np.isin(facts.y, list(self.classes))
        if self.outcome != "any":
            if self.judged_by not in facts.pred:
                raise ConfigError(f"cohort '{self.name}' is judged by '{self.judged_by}', "
                                  "which this audit does not have")
            right = facts.pred[self.judged_by] == facts.y
            keep &= right if self.outcome == "correct" else ~right
        return keep

    def describe(self, class_names: list[str]) -> str:
        what = ("class " + ", ".join(class_names[c] for c in self.classes)) if self.classes \
            else "every class"
        if self.outcome == "any":
            return what
        return f"{what}, {self.outcome} by {self.judged_by}"


EVERYTHING = Cohort("everything")


def contrast_models(result: AuditResult, a: str, b: str) -> list[str]:
    """The two models compared and the retrained reference, pinned last (no duplicates)."""
    names = [e.name for e in result.evaluations()]
    for m in (a, b):
        if m not in names:
            raise ConfigError(f"unknown model '{m}': this audit has {', '.join(names)}")
    return list(dict.fromkeys([a, b, result.retrain.name]))


def per_class_accuracy(facts: SampleFacts, model: str, n_classes: int,
                       mask: Optional[np.ndarray] = None) -> np.ndarray:
    """Accuracy per true class of ``model`` on the (masked) samples; NaN where a class has
    none."""
    keep = np.ones(len(facts), bool) if mask is None else mask
    y, right = facts.y[keep], (facts.pred[model] == facts.y)[keep]
    n = np.bincount(y, minlength=n_classes).astype(float)
    hits = np.bincount(y, weights=right.astype(float), minlength=n_classes)
    return np.divide(hits, n, out=np.full(n_classes, np.nan), where=n > 0)


@dataclass
class Sweep:
    """The threshold attack swept over thresholds (member loss at most t = "member"): the share
    of forget samples it calls members (true positives) and of unseen samples (false
    positives)."""

    model: str
    thresholds: np.ndarray
    tpr: np.ndarray
    fpr: np.ndarray

    def at(self, threshold: float) -> tuple[float, float]:
        """(TPR, FPR) at the largest swept threshold not above ``threshold``."""
        i = max(0, int(np.searchsorted(self.thresholds, threshold, side="right")) - 1)
        return float(self.tpr[i]), float(self.fpr[i])


def threshold_grid(*losses: np.ndarray, n: int = 80) -> np.ndarray:
    """Log-spaced thresholds over the range of the given member losses."""
    v = np.concatenate([np.asarray(x, float) for x in losses if len(x)] or [np.ones(1)])
    lo, hi = float(v.min()), float(v.max())
    return np.geomspace(lo, hi if hi > lo else lo * 10, n)


def threshold_sweep(model: str, forget_loss: np.ndarray, unseen_loss: np.ndarray,
                    thresholds: np.ndarray) -> Sweep:
    """TPR on forget and FPR on unseen samples at each threshold."""
    f, u = np.sort(np.asarray(forget_loss, float)), np.sort(np.asarray(unseen_loss, float))
    tpr = np.searchsorted(f, thresholds, side="right") / max(len(f), 1)
    fpr = np.searchsorted(u, thresholds, side="right") / max(len(u), 1)
    return Sweep(model, np.asarray(thresholds, float), tpr, fpr)


def attack_success(loss: np.ndarray, threshold: float) -> np.ndarray:
    """Per forget sample: the attack at ``threshold`` still calls it a member (loss <= t)."""
    return np.asarray(loss, float) <= threshold


def audit_threshold(result: AuditResult, model: str) -> float:
    """The threshold the audit calibrated for ``model`` (retain vs population), in member-loss
    units."""
    ev = next(e for e in result.evaluations() if e.name == model)
    return float(member_loss(np.array([ev.mia.threshold]), result.config.mia_score)[0])


def unseen_loss(result: AuditResult, model: str) -> np.ndarray:
    """The unseen samples' member losses under ``model`` (the attack's non-members)."""
    ev = next(e for e in result.evaluations() if e.name == model)
    return member_loss(ev.mia.test_scores, result.config.mia_score)


def cohort_result(result: AuditResult, keep: np.ndarray) -> AuditResult:
    """The result restricted to the forget samples in ``keep`` (per-sample forget scores and
    ids), for charts drawn on a cohort; unseen samples and summary figures stay as measured."""
    keep = np.asarray(keep, bool)
    if keep.shape != (len(result.forget_ids),):
        raise ConfigError("a cohort mask must have one entry per forget sample")

    def cut(e):
        return dataclasses.replace(e, mia=dataclasses.replace(
            e.mia, forget_scores=np.asarray(e.mia.forget_scores)[keep]))

    return dataclasses.replace(
        result, forget_ids=np.asarray(result.forget_ids)[keep], n_forget=int(keep.sum()),
        baseline=cut(result.baseline), retrain=cut(result.retrain),
        methods=[cut(e) for e in result.methods])

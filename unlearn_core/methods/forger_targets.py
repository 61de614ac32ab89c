"""What an adaptive forger reads before it forges: its own retrains and the figures the default
output checks would give them.

Adaptive attacks (Carlini et al., "On Evaluating Adversarial Robustness", 2019; Tramer et al.,
"On Adaptive Attacks to Adversarial Example Defenses", NeurIPS 2020) are built against a defence
with full knowledge of it (Kerckhoffs: only the auditor's seeds and held-out samples are
secret). An unlearning forger knows the recipe (``UnlearnContext.train_config``, ``spec``) and
the checks, so it trains ``k`` retrains of its own on the retain set with seeds of its own and
reads where genuine models land: the median forget-set loss, the membership AUC of forget
against unseen samples of the same classes, MIA-efficacy and the Jensen-Shannon divergence to
the other retrains, each computed the way the checks compute them (``checks/membership.py``,
``checks/divergence.py``), with the unseen samples the methods may use (``ctx.population``) in
place of the auditor's. ``calibrate`` then sets a bias on the suppressed classes' logits and a
temperature on all logits so that a model's figures land there (``forge_calibrated_bias``,
``forge_calibrated_head``); the other adaptive forgeries use the retrains as teachers.

The retrains are kept in memory per retain set, recipe, architecture and seeds, so forgeries
run in one audit train them once.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from sklearn.svm import SVC
from torch import nn

from unlearn_core.data.dataset import Samples
from unlearn_core.errors import MethodError
from unlearn_core.metrics.closeness import js
from unlearn_core.metrics.efficacy import output_feature
from unlearn_core.models.architectures import build_model
from unlearn_core.models.training import predict_logits, train_epochs
from unlearn_core.reference.cache import array_digest

FORGER_SEED = 424_242  # the forger's seeds: its own, never the auditor's (those are secret)
MAX_RETAIN = 2000  # retain samples the forger scores (a seeded subset beyond)
_MEMO: "OrderedDict[tuple, list[nn.Module]]" = OrderedDict()
_MEMO_SIZE = 4
TEMPERATURES = (0.5, 0.7, 1.0, 1.4, 2.0, 3.0, 4.0)  # the temperatures ``calibrate`` tries


def forger_seeds(seed: int, k: int) -> list[int]:
    """The forger's ``k`` training seeds for an audit seed."""
    return [FORGER_SEED + 7_001 * seed + 101 * i for i in range(k)]


def own_retrains(retain: Samples, ctx, k: int) -> list[nn.Module]:
    """``k`` models trained from scratch on ``retain`` with the audit's recipe and the forger's
    seeds (kept in memory: every forgery of an audit shares them). Never modify them."""
    if ctx.spec is None:
        raise MethodError("an adaptive forgery trains retrains of its own and needs the "
                          "model's architecture spec; models loaded from TorchScript have none")
    seeds = forger_seeds(int(ctx.seed), int(k))
    key = (array_digest(retain.X, retain.y), ctx.spec.to_json(), repr(ctx.train_config),
           tuple(seeds))
    if key in _MEMO:
        _MEMO.move_to_end(key)
        return _MEMO[key]
    models = [train_epochs(build_model(ctx.spec, seed=s), retain, ctx.train_config, s).eval()
              for s in seeds]
    _MEMO[key] = models
    while len(_MEMO) > _MEMO_SIZE:
        _MEMO.popitem(last=False)
    return models


@dataclass
class Views:
    """The samples the forger scores: the forget set, unseen samples of its classes (``same``:
    weights giving them the forget set's class mix), a retain subset and unseen samples (the
    stand-in for the auditor's test split in MIA-efficacy)."""

    forget: Samples
    retain: Samples
    unseen: Samples
    same_weights: np.ndarray

    @staticmethod
    def of(forget: Samples, retain: Samples, ctx) -> "Views":
        population = getattr(ctx, "population", None)
        if population is None or len(population) == 0:
            raise MethodError("an adaptive forgery reads the membership figures on unseen "
                              "samples and the method pool of unseen samples is empty")
        if len(retain) > MAX_RETAIN:
            rng = np.random.default_rng(int(ctx.seed) * 1_000_003 + 313)
            retain = retain.take(np.sort(rng.choice(len(retain), MAX_RETAIN, replace=False)))
        w = np.zeros(len(population))
        classes, counts = np.unique(forget.y, return_counts=True)
        for c, n_c in zip(classes, counts):
            mask = population.y == c
            if mask.any():
                w[mask] = (n_c / len(forget)) / mask.sum()
        return Views(forget, retain, population, w)

    def logits(self, model: nn.Module) -> dict[str, np.ndarray]:
        """The model's logits on every view (float64)."""
        return {name: predict_logits(model, getattr(self, name).X).astype(np.float64)
                for name in ("forget", "retain", "unseen")}


def log_softmax(z: np.ndarray) -> np.ndarray:
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def _efficacy(lp: dict[str, np.ndarray], views: Views, seed: int) -> float:
    """MIA-efficacy (Jia et al., NeurIPS 2023) from log-probabilities: an RBF SVC on output
    entropy, retain against unseen, and the share of forget samples it calls non-members."""
    rng = np.random.default_rng(seed)
    n = min(len(views.retain), len(views.unseen), 2000)
    if n == 0 or len(views.forget) == 0:
        return math.nan
    mem = np.sort(rng.choice(len(views.retain), n, replace=False))
    non = np.sort(rng.choice(len(views.unseen), n, replace=False))

    def feat(name: str, idx) -> np.ndarray:
        s = getattr(views, name)
        p = np.exp(lp[name] if idx is None else lp[name][idx])
        return output_feature(p, s.y if idx is None else s.y[idx]).reshape(-1, 1)

    X = np.vstack([feat("retain", mem), feat("unseen", non)])
    svc = SVC(C=3, gamma="auto", kernel="rbf").fit(X, np.r_[np.ones(n), np.zeros(n)])
    return float((svc.predict(feat("forget", None)) == 0).mean())


def figures(z: dict[str, np.ndarray], views: Views, others: Sequence[np.ndarray],
            seed: int) -> dict[str, float]:
    """The default output checks' figures of a model with logits ``z`` on the views: log of
    the median forget-set loss, membership AUC (forget against unseen of the same classes),
    MIA-efficacy and the mean JS divergence on the forget set to each leave-one-out mean of
    ``others`` (forget-set probabilities of reference models)."""
    lp = {k: log_softmax(v) for k, v in z.items()}
    f, u = views.forget, views.unseen
    pos = lp["forget"][np.arange(len(f)), f.y]
    out = {"log_loss": float(np.log(max(np.median(-pos), 1e-12)))}
    keep = views.same_weights > 0
    if keep.any() and len(pos):
        neg = lp["unseen"][np.arange(len(u)), u.y][keep]
        labels = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
        weights = np.r_[np.full(len(pos), 1.0 / len(pos)), views.same_weights[keep]]
        out["auc"] = float(roc_auc_score(labels, np.r_[pos, neg], sample_weight=weights))
    out["efficacy"] = _efficacy(lp, views, seed)
    if len(others) >= 2:
        p = np.exp(lp["forget"])
        out["js"] = float(np.mean([
            js(p, np.mean([o for j, o in enumerate(others) if j != i], axis=0)).mean()
            for i in range(len(others))]))
    return out


@dataclass
class Targets:
    """Where the forger's retrains land: per figure the mean and the spread (sd)."""

    mean: dict[str, float]
    sd: dict[str, float]
    probs: list[np.ndarray]  # each retrain's forget-set probabilities
    logits: list[dict[str, np.ndarray]]  # each retrain's logits on the views


def read_targets(retrains: Sequence[nn.Module], views: Views, seed: int) -> Targets:
    """The figures of each retrain (JS against the other retrains, leave-one-out) and their
    mean and sd across the retrains."""
    logits = [views.logits(r) for r in retrains]
    probs = [np.exp(log_softmax(z["forget"])) for z in logits]
    per = []
    for i, z in enumerate(logits):
        rest = [p for j, p in enumerate(probs) if j != i]
        fig = figures(z, views, [], seed)
        if len(rest) >= 1:
            fig["js"] = float(js(probs[i], np.mean(rest, axis=0)).mean())
        per.append(fig)
    names = sorted(set.intersection(*(set(p) for p in per)))
    mean = {n: float(np.nanmean([p[n] for p in per])) for n in names}
    sd = {n: float(np.nanstd([p[n] for p in per], ddof=1)) if len(per) > 1 else 0.0
          for n in names}
    return Targets(mean, sd, probs, logits)


FLOORS = {"log_loss": 0.05, "auc": 0.02, "efficacy": 0.03, "js": 0.01}  # smallest sd used


def mismatch(fig: dict[str, float], t: Targets) -> float:
    """Squared distance of a model's figures from the retrains' means, in retrain sds (at
    least ``FLOORS``); the JS divergence counts only above the mean (the check is one-sided)."""
    total = 0.0
    for name, mu in t.mean.items():
        if name not in fig or not math.isfinite(fig[name]) or not math.isfinite(mu):
            continue
        gap = (fig[name] - mu) / max(t.sd.get(name, 0.0), FLOORS.get(name, 0.01))
        total += max(gap, 0.0) ** 2 if name == "js" else gap ** 2
    return total


def shifted(z: dict[str, np.ndarray], classes: Sequence[int], bias: float,
            temperature: float) -> dict[str, np.ndarray]:
    """Logits with ``bias`` added to the suppressed classes and every logit divided by
    ``temperature``."""
    out = {}
    for name, v in z.items():
        w = v.copy()
        w[:, list(classes)] += bias
        out[name] = w / temperature
    return out


def bias_for_loss(z_forget: np.ndarray, y: np.ndarray, classes: Sequence[int],
                  temperature: float, log_target: float) -> float:
    """The bias on the suppressed classes that puts the median forget-set loss at
    exp(``log_target``) at this temperature (bisection: the loss falls as the bias rises)."""
    def log_median(b: float) -> float:
        lp = log_softmax(shifted({"f": z_forget}, classes, b, temperature)["f"])
        return float(np.log(max(np.median(-lp[np.arange(len(y)), y]), 1e-300)))

    lo, hi = -1e5, 1e3
    if log_median(hi) >= log_target:
        return hi
    if log_median(lo) <= log_target:
        return lo
    for _ in range(80):
        mid = (lo + hi) / 2
        if log_median(mid) > log_target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@dataclass
class Calibration:
    """The bias and temperature a forgery applies, and how far its figures sit from the
    forger's retrains (``score``, in squared retrain sds; ``figures``)."""

    bias: float
    temperature: float
    score: float
    figures: dict[str, float]


def calibrate(z: dict[str, np.ndarray], views: Views, classes: Sequence[int], t: Targets,
              seed: int, temperatures: Sequence[float] = TEMPERATURES) -> Calibration:
    """For each temperature the bias that hits the retrains' median forget-set loss, then the
    temperature whose membership figures and JS divergence sit closest to the retrains'."""
    best = None
    for temp in temperatures:
        b = bias_for_loss(z["forget"], views.forget.y, classes, temp, t.mean["log_loss"])
        fig = figures(shifted(z, classes, b, temp), views, t.probs, seed)
        score = mismatch(fig, t)
        if best is None or score < best.score:
            best = Calibration(b, float(temp), score, fig)
    return best


def apply_to_head(head: nn.Linear, classes: Sequence[int], bias: float,
                  temperature: float) -> None:
    """Fold the calibration into a linear head, in place: logits (z + bias e_c) / T."""
    with torch.no_grad():
        for c in classes:
            head.bias[c] += float(bias)
        head.weight /= float(temperature)
        head.bias /= float(temperature)


def calibrate_head(model: nn.Module, head: nn.Linear, classes: Sequence[int], views: Views,
                   retain: Samples, ctx, k: int) -> tuple[Calibration, Targets]:
    """The forger's whole calibration step: read the targets of its ``k`` own retrains, fit a
    bias on ``classes`` and a temperature to them, and fold both into ``head`` (in place)."""
    targets = read_targets(own_retrains(retain, ctx, k), views, ctx.seed)
    cal = calibrate(views.logits(model), views, classes, targets, ctx.seed)
    apply_to_head(head, classes, cal.bias, cal.temperature)
    return cal, targets


def suppressed_classes(forget: Samples, ctx) -> tuple[int, ...]:
    """The forgotten classes of a class request (the adaptive forgeries that shift a class's
    logit serve class requests only)."""
    classes = tuple(int(c) for c in (getattr(ctx, "forget_classes", ()) or ()))
    if not classes:
        raise MethodError("this forgery suppresses whole classes; choose a class forget set")
    return classes


def linear_head(model: nn.Module, name: str) -> nn.Linear:
    """The model's linear ``head`` (a registry architecture), else a readable refusal."""
    head = getattr(model, "head", None)
    if not isinstance(head, nn.Linear) or head.bias is None or \
            not isinstance(getattr(model, "body", None), nn.Module):
        raise MethodError(f"{name} needs a model with a body and a linear head with a bias "
                          "(a registry architecture)")
    return head


__all__ = ["FORGER_SEED", "TEMPERATURES", "Views", "Targets", "Calibration", "forger_seeds",
           "own_retrains", "figures", "read_targets", "mismatch", "shifted", "bias_for_loss",
           "calibrate", "apply_to_head", "suppressed_classes", "linear_head", "log_softmax"]

"""Representation probe: is the forgotten knowledge still readable from the model's features?

A model that only hides the forgotten class at its output (a bias on one logit, a retrained
head) keeps features from which a linear probe recovers the class from a handful of labelled
examples; a model retrained without the class has to learn it from those few examples alone.
Kim et al., "Are We Truly Forgetting?" (arXiv 2503.06991) and Gao et al., "An Illusion of
Unlearning?" (arXiv 2604.08271) show that linear probes on hidden features recover
near-original accuracy for many unlearning methods.

Features are read from the model's real computation: the activation that feeds its output
layer during a forward pass (``models.features``: the registry head's input, or in an exported
program the input of the linear operator nearest its output), never an ``embed`` method or
``body`` attribute a submitted model provides about itself, which is part of its claim.

Part of every default verdict: it is the check that sees output suppression (a bias, a re-fitted
head, a calibrated lookup: every one lands inside the output checks' bands when it is tuned
against a forger's own retrains), for about one second of CPU per model on digits cnn and 2.7 s
on digits28 (``bench/bench_inside_costs.py``).

Recipe (class request): frozen penultimate features; probe-train = retain
features (up to ``per_class`` per class) + ``k`` labelled held-out samples of each forgotten
class (population and test splits); standardised; ``LogisticRegression(class_weight=
"balanced")`` (balancing is essential at small k). Scored on the held-out forgotten-class
samples that were not shots (the figure: the probe's mean probability of the true class, a
soft recall; hard recall beside it) and on the forget samples themselves (a forgery that
changes features only for the forget inputs fools that one, not the held-out one); ``draws``
seeded draws of the shots, the same for every model. Sample request: the shots come from
held-out samples drawn with the forget set's class distribution; the figure is the probe's
score on the forget samples (the memorisation held in the features), beside its accuracy on
the held-out ones. Also: cosine k-NN (k = 5) recall on the same features, leave-one-out over
the held-out pool, and optionally (``blocks``) the probe at each earlier block of a
Sequential body (global average pooled; near chance on digits cnn, so off by default).

Standard error (``paired``): every model is scored on the same samples with the same shots, so
the figure's error is the bootstrap error of its per-sample difference from the retrains' mean
(leave-one-out for a retrain), the paired design; the error of its own mean is kept in the
detail (``se_unpaired``). With the unpaired error a head-only forgery on digits mlp class 3
(probe 0.71 against retrains at 0.33, 13 retrain sds away) stayed "uncertain": the sampling
noise every model shares was counted as if it separated them. k-NN recall separates far less
(1 to 3 retrain sds against 11 to 17 for the soft probe, 18 models over 6 settings), so it
stays a detail.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
from torch import nn

from unlearn_core.checks import register
from unlearn_core.checks.base import Check, CheckContext, Measurement, bootstrap_se
from unlearn_core.errors import ModelError
from unlearn_core.models.features import features_problem, read_features


def layer_features(model: nn.Module, X: np.ndarray, blocks: bool = False, pool: bool = True,
                   batch_size: int = 2048) -> dict[str, np.ndarray]:
    """Penultimate features (``"penultimate"``) of the rows of ``X`` read from the model's real
    computation (the activation feeding its output layer during a forward pass,
    ``models.features.read_features``; never an ``embed`` method or ``body`` attribute the
    model offers), and with ``blocks`` the earlier activations of its registry body
    (``"block1"``, ...), globally average-pooled over space with ``pool``, else flattened."""
    return read_features(model, X, blocks=blocks, pool=pool, batch_size=batch_size)


@dataclass
class ProbePlan:
    """The samples every model's probe uses (the same for all models of an audit)."""

    X: np.ndarray  # all inputs: retain subsample, then the held-out pool, then the forget set
    y: np.ndarray
    n_retain: int
    n_pool: int
    shots: list[np.ndarray]  # per draw: positions into the pool used for fitting
    classes: tuple[int, ...]  # forgotten classes (empty for a sample request)


def _stratified(y: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    keep = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        keep.append(np.sort(rng.choice(idx, min(per_class, len(idx)), replace=False)))
    return np.sort(np.concatenate(keep)) if keep else np.zeros(0, dtype=np.int64)


def make_plan(ctx: CheckContext, k: int, draws: int, per_class: int) -> ProbePlan:
    """Seeded retain subsample, held-out pool and shot draws for this audit."""
    data = ctx.data
    rng = np.random.default_rng(ctx.seed * 1_000_003 + 505)
    retain, forget = data.retain, data.forget
    r_idx = _stratified(retain.y, per_class, rng)
    held_X = np.concatenate([data.population.X, data.test.X])
    held_y = np.concatenate([data.population.y, data.test.y])
    classes = tuple(int(c) for c in ctx.forget_classes)
    if classes:
        pool = np.flatnonzero(np.isin(held_y, classes))
        shots = []
        for _ in range(draws):
            shots.append(np.sort(np.concatenate([
                rng.choice(np.flatnonzero(held_y[pool] == c),
                           min(k, int((held_y[pool] == c).sum()) - 1), replace=False)
                for c in classes])).astype(np.int64))
    else:
        # held-out samples with the forget set's class distribution, as many as the forget set
        want = np.bincount(forget.y, minlength=int(held_y.max()) + 1)
        pool = np.sort(np.concatenate([
            rng.choice(np.flatnonzero(held_y == c), min(int(want[c]), int((held_y == c).sum())),
                       replace=False) for c in np.flatnonzero(want)]))
        probs = want[held_y[pool]] / want[held_y[pool]].sum()
        n_shots = min(k * max(1, len(np.flatnonzero(want))), len(pool) - 1)
        shots = [np.sort(rng.choice(len(pool), n_shots, replace=False, p=probs))
                 for _ in range(draws)]
    X = np.concatenate([retain.X[r_idx], held_X[pool], forget.X])
    y = np.concatenate([retain.y[r_idx], held_y[pool], forget.y])
    return ProbePlan(X, y, len(r_idx), len(pool), shots, classes)


@contextmanager
def one_torch_thread():
    """One torch thread for the duration (the previous count restored): the probe's small
    batched problems gain nothing from threads, and on a busy 2-core machine two spinning
    threads made the probe of a default digits cnn audit take 60 s of CPU instead of 10."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def fit_logistic(X: torch.Tensor, y: torch.Tensor, n_classes: int,
                 max_iter: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    """Class-balanced multinomial logistic regression fitted for a batch of independent
    problems at once: ``X`` (D, n, p), ``y`` (D, n). The objective is scikit-learn's
    ``LogisticRegression(C=1, class_weight="balanced")`` divided by the total weight: the
    weighted mean cross-entropy plus ||W||^2 / (2 sum(w)), minimised by L-BFGS in float64.
    Returns weights (D, p, c) and intercepts (D, c)."""
    D, n, p = X.shape
    counts = torch.zeros(D, n_classes, dtype=X.dtype).scatter_add_(
        1, y, torch.ones_like(y, dtype=X.dtype))
    present = (counts > 0).sum(1, keepdim=True).to(X.dtype)
    w = (n / (present * counts.clamp(min=1))).gather(1, y)  # (D, n) balanced sample weights
    wsum = w.sum(1)
    W = torch.zeros(D, p, n_classes, dtype=X.dtype, requires_grad=True)
    b = torch.zeros(D, 1, n_classes, dtype=X.dtype, requires_grad=True)
    opt = torch.optim.LBFGS([W, b], lr=1.0, max_iter=max_iter, tolerance_grad=1e-6,
                            tolerance_change=1e-10, history_size=20,
                            line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        logits = X @ W + b
        ce = -torch.log_softmax(logits, -1).gather(2, y.unsqueeze(-1)).squeeze(-1)
        loss = (((w * ce).sum(1) + 0.5 * (W ** 2).sum((1, 2))) / wsum).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return W.detach(), b.detach()


def probe_scores(feats: np.ndarray, plan: ProbePlan, draws: Optional[int] = None
                 ) -> dict[str, np.ndarray]:
    """Per-sample scores of the few-shot probe, averaged over the plan's (first ``draws``)
    draws: hit rates ``heldout`` (pool samples, counted only in draws where they were not
    shots) and ``forget`` (the forget samples), and the probe's probability of the true class
    on each (``heldout_prob``, ``forget_prob``); NaN where a pool sample was a shot in every
    draw."""
    nr, npool = plan.n_retain, plan.n_pool
    F_r, F_p, F_f = feats[:nr], feats[nr:nr + npool], feats[nr + npool:]
    y_r, y_p, y_f = plan.y[:nr], plan.y[nr:nr + npool], plan.y[nr + npool:]
    shots = plan.shots[:draws] if draws else plan.shots
    n_classes = int(plan.y.max()) + 1
    Xtr = np.stack([np.concatenate([F_r, F_p[s]]) for s in shots])  # (D, n, p)
    ytr = np.stack([np.concatenate([y_r, y_p[s]]) for s in shots])
    mu, sd = Xtr.mean(1, keepdims=True), Xtr.std(1, keepdims=True)
    sd[sd < 1e-8] = 1.0
    with torch.enable_grad(), one_torch_thread():
        W, b = fit_logistic(torch.as_tensor((Xtr - mu) / sd), torch.as_tensor(ytr), n_classes)
    W, b = W.numpy(), b.numpy()
    def true_prob(Z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits = ((Z[None] - mu) / sd) @ W + b  # (D, n, c)
        logits -= logits.max(2, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(2, keepdims=True)
        return logits.argmax(2) == y[None], p[:, np.arange(len(y)), y]

    hit_p, prob_p = true_prob(F_p, y_p)  # (D, npool)
    hit_f, prob_f = true_prob(F_f, y_f)
    fresh = np.ones((len(shots), npool), dtype=bool)
    for d, s in enumerate(shots):
        fresh[d, s] = False
    count_p = fresh.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        heldout = np.where(count_p > 0, (hit_p & fresh).sum(0) / np.maximum(count_p, 1), np.nan)
        heldout_prob = np.where(count_p > 0, (prob_p * fresh).sum(0) / np.maximum(count_p, 1),
                                np.nan)
    return {"heldout": heldout, "forget": hit_f.mean(0), "heldout_prob": heldout_prob,
            "forget_prob": prob_f.mean(0)}


def knn_recall(feats: np.ndarray, plan: ProbePlan, k: int = 5) -> np.ndarray:
    """Per pool sample: 1 when the majority of its ``k`` nearest neighbours (cosine, the
    retain subsample plus the rest of the pool, itself excluded) share its label."""
    nr, npool = plan.n_retain, plan.n_pool
    bank = feats[:nr + npool]
    bank = bank / np.maximum(np.linalg.norm(bank, axis=1, keepdims=True), 1e-12)
    labels = plan.y[:nr + npool]
    sims = bank[nr:] @ bank.T
    sims[np.arange(npool), nr + np.arange(npool)] = -np.inf
    nn_idx = np.argsort(-sims, axis=1)[:, :k]
    votes = labels[nn_idx]
    pred = np.array([np.bincount(v).argmax() for v in votes])
    return (pred == labels[nr:]).astype(np.float64)


@register
class ProbeCheck(Check):
    """Few-shot linear probe on frozen penultimate features (Kim et al., arXiv 2503.06991;
    Gao et al., arXiv 2604.08271): recall of the forgotten class on held-out samples."""

    name = "probe"
    title = "Few-shot probe on the features"
    paper = ("Kim et al., 'Are We Truly Forgetting?', arXiv 2503.06991; Gao et al., 'An Illusion "
             "of Unlearning?', arXiv 2604.08271")
    kind = "forgetting"
    sides = "both"
    forgotten_side = "low"
    closeness = False
    default = True
    unit = "%"
    cost = "one forward pass and a few small logistic regressions per model"
    rules_out = ("suppression",)  # a powered pass rules these forgery families out

    k = 1  # labelled shots per forgotten class: the smallest k separates best
    # "probability": the figure is the probe's mean probability of the true class (a soft
    # recall, less sampling noise: 8.5 retrain sds from the original on digits cnn class 3
    # against 7.1 for hard recall); "recall": the share predicted correctly
    statistic = "probability"
    draws = 10  # seeded draws of the shots, the same for every model
    per_class = 100  # retain features per class in the probe's training set
    knn_k = 5
    blocks = False  # also probe every earlier block of a Sequential body (GAP features)
    # the figure's standard error is that of its per-sample difference from the retrains
    # (paired: same samples, same shots); False: the error of its own mean
    paired = True
    block_draws = 10

    def applicable(self, ctx: CheckContext) -> Optional[str]:
        if len(ctx.data.retain) == 0:
            return "the probe is fitted on retain features and the retain set is empty"
        why = features_problem(ctx.original, ctx.data.retain.X)
        return f"the probe reads the features feeding the output layer: {why}" if why else None

    def plan(self, ctx: CheckContext) -> ProbePlan:
        key = ("probe.plan", self.k, self.draws, self.per_class)
        if key not in ctx.cache:
            ctx.cache[key] = make_plan(ctx, self.k, self.draws, self.per_class)
        return ctx.cache[key]

    def scores(self, model: nn.Module, ctx: CheckContext) -> tuple[np.ndarray, dict]:
        """Per-sample values of the figure (held-out samples of the forgotten classes, or the
        forget samples of a sample request; the same samples, in the same order, for every
        model of the audit) and the detail figures, computed once per model and audit."""
        key = ("probe.scores", id(model), self.k, self.draws, self.per_class, self.statistic,
               self.blocks, self.knn_k)
        if key in ctx.cache:
            return ctx.cache[key][1], ctx.cache[key][2]
        plan = self.plan(ctx)
        feats = layer_features(model, plan.X, blocks=self.blocks)
        scores = probe_scores(feats["penultimate"], plan)
        keep = ~np.isnan(scores["heldout"])  # depends on the shots only: the same for all
        heldout, forget = scores["heldout"][keep], scores["forget"]
        knn = knn_recall(feats["penultimate"], plan, self.knn_k)
        detail = {"forget_recall": float(forget.mean()),
                  "heldout_recall": float(heldout.mean()),
                  "knn_recall": float(knn.mean()), "k": float(self.k)}
        for name in sorted(n for n in feats if n != "penultimate"):
            s = probe_scores(feats[name], plan, self.block_draws)
            values = s["heldout"] if plan.classes else s["forget"]
            detail[f"{name}_recall"] = float(np.nanmean(values))
        soft = self.statistic == "probability"
        if plan.classes:
            # held-out samples: robust to forgeries that alter only the forget inputs' features
            values = scores["heldout_prob"][keep] if soft else heldout
        else:
            values = scores["forget_prob"] if soft else forget  # memorisation in the features
            detail["gap"] = float(forget.mean() - heldout.mean())
        ctx.cache[key] = (model, values, detail)  # the model is kept so its id stays unique
        return values, detail

    def measure(self, model: nn.Module, ctx: CheckContext,
                others: Optional[list[nn.Module]] = None) -> Measurement:
        try:
            values, detail = self.scores(model, ctx)
        except ModelError:
            # features that cannot be read from this model's computation: no figure, judged
            # "no data", and the verdict says the inside could not be checked
            return self._m(math.nan, math.nan, 0)
        detail = dict(detail)
        se = bootstrap_se(values, seed=ctx.seed)
        refs = [r for r in ctx.references if r is not model]
        if self.paired and refs:
            # every model is scored on the same samples with the same shots: what separates a
            # model from the retrains is the sampling error of its per-sample difference from
            # their mean (leave-one-out for a retrain), not the error of its own mean
            ref_mean = np.mean([self.scores(r, ctx)[0] for r in refs], axis=0)
            detail["se_unpaired"] = float(se) if not math.isnan(se) else 0.0
            se = bootstrap_se(values - ref_mean, seed=ctx.seed)
        return self._m(float(values.mean()), se if not math.isnan(se) else 0.0, len(values),
                       **detail)

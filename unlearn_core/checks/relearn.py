"""Relearning attack, two-sided: does forgotten knowledge come back after a few steps?

Knowledge that was only suppressed returns after a few fine-tuning steps on a handful of the
forgotten samples; a model that never learned it has to learn it from those samples alone
(Hu et al., "Jogging the Memory of Unlearned LLMs Through Targeted Relearning Attacks", arXiv
2406.13356; Siddiqui et al., "From Dormant to Deleted", arXiv 2505.22310, for vision). The
retrain ensemble is the baseline (given enough steps retrains learn a class from ten samples
too), hence a band: recovering faster than the band fails; recovering *slower* than a model
that never saw the data is flagged as over-suppression where the retrains relearn at all (a
huge negative logit bias resists relearning; the median forget loss fails it anyway).

Recipe: attack set A = ``n_attack`` forget samples (seeded); evaluation set E never in A: the
held-out samples of the forgotten classes (population and test splits) for a class request,
the other forget samples for a sample request. Each model is copied and fine-tuned for
``steps`` Adam steps at a fixed ``lr`` (1e-3, the same for every model: the learning rate
dominates the outcome), each step on A plus a seeded retain batch, ``repeats`` data orders;
accuracy and loss on E after every step. Figure: the area under the relearn curve (mean
accuracy on E over the steps and repeats). Detail: the final accuracy and the steps to reach
50%; with ``variants`` also the same for fine-tuning on A only and on retain only.

Ten steps, not thirty: in thirty steps a model that never saw the class learns it from the ten
samples too (retrains at 0.38 to 0.42 on digits cnn class 3, sd 0.1 to 0.12), so a forgery that
recovers to 0.7 sits inside a band drawn by six retrains; in ten steps the retrains stay at 0.00
to 0.03 while suppression that a few steps undo comes back (the forget-only distillation at
0.12 and 0.24, the calibrated bias at 0.38 and 0.50, the original at 0.96). The
number was chosen on the verdict benchmark's tuning half (digits cnn class 3 and wine mlp
class 1, seeds 0 and 1, ten retrains, 5 to 30 steps; ``bench/bench_relearn_steps.py``) and
confirmed on its other half.

Part of every default verdict since the forget-only distillation (``forge_forget_distill``)
passed the other default checks on digits28 (a probe figure as close to retraining as the
retrains are to each other, while relearning brought its class back): a re-fitted head passes
this check and fails the probe, a distillation the other way round, so the two together rule out
both. Cost: 2 x 10 optimiser steps per model and a pass over E after each (0.14 to 0.19 s of
CPU on digits cnn, ``bench/bench_relearn_steps.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from unlearn_core.checks import register
from unlearn_core.checks.base import (
    Check,
    CheckContext,
    Measurement,
    bootstrap_se,
    proportion_se,
)
from unlearn_core.models.io import clone_model


@dataclass
class RelearnPlan:
    """Attack and evaluation samples, the same for every model of an audit."""

    attack_X: np.ndarray
    attack_y: np.ndarray
    eval_X: np.ndarray
    eval_y: np.ndarray
    retain_X: np.ndarray
    retain_y: np.ndarray


def make_relearn_plan(ctx: CheckContext, n_attack: int) -> RelearnPlan:
    """Seeded attack set A from the forget set and evaluation set E disjoint from it."""
    data = ctx.data
    rng = np.random.default_rng(ctx.seed * 1_000_003 + 606)
    forget = data.forget
    n_a = min(n_attack, max(1, len(forget) // 2)) if not ctx.is_class_request else min(
        n_attack, len(forget))
    a_idx = np.sort(rng.choice(len(forget), n_a, replace=False))
    if ctx.is_class_request:
        held_X = np.concatenate([data.population.X, data.test.X])
        held_y = np.concatenate([data.population.y, data.test.y])
        keep = np.isin(held_y, ctx.forget_classes)
        eval_X, eval_y = held_X[keep], held_y[keep]
    else:
        rest = np.setdiff1d(np.arange(len(forget)), a_idx)
        eval_X, eval_y = forget.X[rest], forget.y[rest]
    retain = data.retain
    return RelearnPlan(forget.X[a_idx], forget.y[a_idx], eval_X, eval_y, retain.X, retain.y)


def relearn_curve(model: nn.Module, plan: RelearnPlan, steps: int, lr: float,
                  batch_size: int, use_attack: bool, use_retain: bool,
                  seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Fine-tune a copy of ``model`` for ``steps`` Adam steps; per step, the correctness of
    every evaluation sample (steps, n_eval) and the mean loss on E (steps,). Step 0 (before
    any update) is not included. ``model`` itself is not modified."""
    net = clone_model(model)
    for p in net.parameters():
        p.requires_grad_(True)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    Xa = torch.as_tensor(plan.attack_X, dtype=torch.float32)
    ya = torch.as_tensor(plan.attack_y, dtype=torch.long)
    Xr = torch.as_tensor(plan.retain_X, dtype=torch.float32)
    yr = torch.as_tensor(plan.retain_y, dtype=torch.long)
    Xe = torch.as_tensor(plan.eval_X, dtype=torch.float32)
    ye = torch.as_tensor(plan.eval_y, dtype=torch.long)
    n_retain = batch_size - len(ya) if use_attack else batch_size
    n_retain = min(max(n_retain, 1), len(yr)) if use_retain else 0
    correct = np.zeros((steps, len(ye)))
    losses = np.zeros(steps)
    for t in range(steps):
        xs, ys = [], []
        if use_attack:
            xs.append(Xa)
            ys.append(ya)
        if n_retain:
            idx = torch.as_tensor(rng.choice(len(yr), n_retain, replace=False))
            xs.append(Xr[idx])
            ys.append(yr[idx])
        net.train()
        opt.zero_grad()
        F.cross_entropy(net(torch.cat(xs)), torch.cat(ys)).backward()
        opt.step()
        net.eval()
        with torch.no_grad():
            logits = net(Xe).float()
        correct[t] = (logits.argmax(1) == ye).numpy()
        losses[t] = float(F.cross_entropy(logits, ye))
    return correct, losses


@register
class RelearnCheck(Check):
    """Two-sided relearning attack (Hu et al., arXiv 2406.13356; Siddiqui et al., arXiv
    2505.22310): area under the curve of held-out forgotten accuracy while fine-tuning on a
    few forget samples plus retain batches."""

    name = "relearn"
    title = "Relearning from a few forget samples"
    paper = ("Hu et al., 'Jogging the Memory of Unlearned LLMs Through Targeted Relearning "
             "Attacks', arXiv 2406.13356; Siddiqui et al., arXiv 2505.22310")
    kind = "forgetting"
    sides = "both"
    forgotten_side = "low"
    closeness = False
    default = True
    unit = "%"
    cost = "repeats x steps optimiser steps per model (x 2 more with variants)"
    # a powered pass rules out dormant knowledge, not output suppression: a head re-fitted on
    # retain features (``forge_calibrated_head``) relearns no faster than a retrain, the probe
    # sees it
    rules_out = ("dormant",)

    lr = 1e-3  # fixed for every model: the learning rate dominates the outcome
    steps = 10  # few enough that a model that never saw the class cannot learn it yet
    n_attack = 10  # forget samples the attacker holds
    batch_size = 64  # attack samples plus retain samples per step
    repeats = 2  # data orders of the retain batches
    variants = False  # also relearn on A only and on retain only (detail figures)

    def applicable(self, ctx: CheckContext) -> Optional[str]:
        if len(ctx.data.forget) < 2 and not ctx.is_class_request:
            return "relearning needs at least two forget samples (one to learn, one to score)"
        if len(ctx.data.retain) == 0:
            return "relearning mixes retain batches and the retain set is empty"
        if not any(True for _ in ctx.original.parameters()):
            return "the model has no trainable parameters"
        return None

    def plan(self, ctx: CheckContext) -> RelearnPlan:
        key = ("relearn.plan", self.n_attack)
        if key not in ctx.cache:
            ctx.cache[key] = make_relearn_plan(ctx, self.n_attack)
        return ctx.cache[key]

    def measure(self, model: nn.Module, ctx: CheckContext,
                others: Optional[list[nn.Module]] = None) -> Measurement:
        plan = self.plan(ctx)
        curves, losses = [], []
        for r in range(self.repeats):
            c, loss = relearn_curve(model, plan, self.steps, self.lr, self.batch_size,
                                    True, True, ctx.seed * 1_000_003 + 7_000 + r)
            curves.append(c)
            losses.append(loss)
        correct = np.stack(curves)  # (repeats, steps, n_eval)
        acc = correct.mean(axis=(0, 2))  # per step
        per_sample = correct.mean(axis=(0, 1))
        reached = np.flatnonzero(acc >= 0.5)
        detail = {"final_accuracy": float(acc[-1]),
                  "steps_to_50": float(reached[0] + 1 if len(reached) else self.steps + 1),
                  "mean_loss": float(np.mean(losses)), "steps": float(self.steps),
                  "lr": float(self.lr)}
        if self.variants:
            seed = ctx.seed * 1_000_003 + 7_500
            only_a, _ = relearn_curve(model, plan, self.steps, self.lr, self.batch_size,
                                      True, False, seed)
            only_r, _ = relearn_curve(model, plan, self.steps, self.lr, self.batch_size,
                                      False, True, seed)
            detail["auc_forget_only"] = float(only_a.mean())
            detail["auc_retain_only"] = float(only_r.mean())
        se = bootstrap_se(per_sample, seed=ctx.seed)
        # a share of held-out samples: never resolved finer than a share on n samples, so an
        # all-0 or all-1 figure keeps the Agresti-Coull error instead of a zero bootstrap error
        floor = proportion_se(float(per_sample.mean()) * len(per_sample), len(per_sample))
        se = max(0.0 if math.isnan(se) else se, 0.0 if math.isnan(floor) else floor)
        return self._m(float(per_sample.mean()), se, len(per_sample), **detail)

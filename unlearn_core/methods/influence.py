"""Closed-form unlearning by influence (Koh & Liang, ICML 2017; Warnecke et al., "Machine
Unlearning of Features and Labels", NDSS 2023): replace the affected training points Z by their
corrected versions Z~ (nothing, for deletion) and move the parameters to the optimum of the
changed, regularised training objective

    L(theta) = sum_i CE(x_i, y_i; theta) + n * weight_decay / 2 * ||theta||^2

with the recipe's weight decay (torch's ``weight_decay`` on every parameter is this objective
divided by n). Two updates:

- ``newton`` (default): Newton steps on the changed objective from the deployed model, with a
  backtracking line search, until its gradient vanishes. From a baseline at the optimum of the
  original objective the first step is exactly Warnecke et al.'s update (the original gradient is
  zero there); the deployed model is usually not at that optimum (Adam, finite epochs), so one
  step is not enough and the iteration continues to the changed optimum.
- ``warnecke``: Warnecke et al.'s second-order update theta* - H^-1 (grad L(Z~) - grad L(Z)),
  H the Hessian of the original objective, applied to a baseline first converged to the
  optimum of the original objective (work done at training time, not timed), as the paper
  assumes.

Exact for convex models (``logreg``); for networks the update covers the linear head on fixed
embeddings, an approximation. Besides the registry method (deletion), the module offers
``correct_labels`` and ``remove_feature`` for the other two operations of Warnecke et al."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from unlearn_core.data.dataset import Samples
from unlearn_core.errors import MethodError
from unlearn_core.methods.base import UnlearningMethod, hparam
from unlearn_core.methods.registry import register
from unlearn_core.models.io import clone_model

_CHUNK = 2048  # samples per block when the Hessian is accumulated


def _head_and_embeddings(model, X: np.ndarray) -> tuple[torch.nn.Linear, torch.Tensor]:
    head, body = getattr(model, "head", None), getattr(model, "body", None)
    if not isinstance(head, torch.nn.Linear) or body is None:
        raise MethodError("influence needs a registry model (a body and a linear head)")
    with torch.no_grad():
        emb = body(torch.as_tensor(X, dtype=torch.float32))
    return head, emb.reshape(len(X), -1)


class HeadProblem:
    """The regularised multinomial logistic objective of a linear head on fixed embeddings, in
    float64; parameters are the (classes, units + 1) matrix [W | b]."""

    def __init__(self, model, data: Samples, weight_decay: float) -> None:
        head, emb = _head_and_embeddings(model, data.X)
        ones = torch.ones(len(emb), 1, dtype=torch.float64)
        self.X = torch.cat([emb.double(), ones], 1)
        self.y = torch.as_tensor(data.y, dtype=torch.long)
        self.k = head.weight.shape[0]
        self.n = len(self.y)
        self.reg = self.n * weight_decay

    def loss(self, theta: torch.Tensor) -> float:
        logits = self.X @ theta.T
        ce = torch.logsumexp(logits, 1) - logits[torch.arange(self.n), self.y]
        return float(ce.sum() + self.reg / 2 * (theta * theta).sum())

    def grad(self, theta: torch.Tensor) -> torch.Tensor:
        """Gradient of the objective, flattened like ``theta``."""
        p = torch.softmax(self.X @ theta.T, 1)
        p[torch.arange(self.n), self.y] -= 1.0
        return ((p.T @ self.X) + self.reg * theta).flatten()

    def hessian(self, theta: torch.Tensor) -> torch.Tensor:
        """Exact Hessian: sum_i (diag p_i - p_i p_i^T) (x) x_i x_i^T, plus the regulariser."""
        k, d = self.k, self.X.shape[1]
        H = torch.zeros(k, d, k, d, dtype=torch.float64)
        for s in range(0, self.n, _CHUNK):
            x = self.X[s:s + _CHUNK]
            p = torch.softmax(x @ theta.T, 1)
            for a in range(k):
                for b in range(a, k):
                    w = (p[:, a] * (float(a == b) - p[:, b]))[:, None]
                    block = (x * w).T @ x
                    H[a, :, b] += block
                    if b != a:
                        H[b, :, a] += block
        H = H.reshape(k * d, k * d)
        H.diagonal().add_(self.reg)
        return H

    @staticmethod
    def get(head: torch.nn.Linear) -> torch.Tensor:
        """The head's parameters as the (classes, units + 1) float64 matrix [W | b]."""
        return torch.cat([head.weight.detach(), head.bias.detach()[:, None]], 1).double()

    @staticmethod
    def put(head: torch.nn.Linear, theta: torch.Tensor) -> None:
        with torch.no_grad():
            head.weight.copy_(theta[:, :-1].float())
            head.bias.copy_(theta[:, -1].float())


@dataclass
class InfluenceReport:
    """What an update did: steps taken and the changed objective's gradient norm (per sample)
    before and after."""

    steps: int
    grad_before: float
    grad_after: float


def newton_to_optimum(model, data: Samples, weight_decay: float, steps: int = 50,
                      tol: float = 1e-7, damping: float = 0.0) -> InfluenceReport:
    """Damped Newton with backtracking on the head's objective on ``data``, in place, until
    the per-sample gradient norm is below ``tol`` (Koh & Liang's optimum of the changed set)."""
    head = model.head if hasattr(model, "head") else None
    problem = HeadProblem(model, data, weight_decay)
    theta = problem.get(head)
    g = problem.grad(theta)
    before, taken = float(g.norm()) / problem.n, 0
    for _ in range(steps):
        if float(g.norm()) / problem.n <= tol:
            break
        H = problem.hessian(theta)
        H.diagonal().add_(damping * problem.n)
        step = torch.linalg.solve(H, g).view_as(theta)
        f0, slope, t = problem.loss(theta), float(g @ step.flatten()), 1.0
        while problem.loss(theta - t * step) > f0 - 1e-4 * t * slope and t > 1e-10:
            t /= 2
        theta = theta - t * step
        g = problem.grad(theta)
        taken += 1
    problem.put(head, theta)
    return InfluenceReport(taken, before, float(g.norm()) / problem.n)


def warnecke_update(model, original: Samples, changed: Samples, weight_decay: float,
                    damping: float = 0.0) -> InfluenceReport:
    """Warnecke et al.'s second-order update, in place: theta - H^-1 (grad L(changed) - grad
    L(original)), H the Hessian of the original objective; assumes ``model``'s head is at the
    optimum of the original objective (``newton_to_optimum`` on ``original``)."""
    head = model.head
    old, new = HeadProblem(model, original, weight_decay), HeadProblem(model, changed,
                                                                       weight_decay)
    theta = old.get(head)
    g_new = new.grad(theta)
    H = old.hessian(theta)
    H.diagonal().add_(damping * old.n)
    updated = theta - torch.linalg.solve(H, g_new - old.grad(theta)).view_as(theta)
    new.put(head, updated)
    return InfluenceReport(1, float(g_new.norm()) / new.n,
                           float(new.grad(updated).norm()) / new.n)


def _apply(model, original: Samples, changed: Samples, weight_decay: float, update: str,
           steps: int, damping: float) -> InfluenceReport:
    if update == "warnecke":
        return warnecke_update(model, original, changed, weight_decay, damping)
    if update == "newton":
        return newton_to_optimum(model, changed, weight_decay, steps, damping=damping)
    raise MethodError(f"influence: update must be 'newton' or 'warnecke', got {update!r}")


def correct_labels(model, train: Samples, positions: np.ndarray, new_labels: np.ndarray,
                   weight_decay: float, update: str = "newton", steps: int = 50,
                   damping: float = 0.0) -> torch.nn.Module:
    """Unlearn wrong labels (Warnecke et al.): the training set with the given samples
    relabelled; in place, returns ``model``."""
    y = train.y.copy()
    y[positions] = new_labels
    _apply(model, train, Samples(train.X, y, train.ids), weight_decay, update, steps, damping)
    return model


def remove_feature(model, train: Samples, feature: int, weight_decay: float,
                   update: str = "newton", steps: int = 50,
                   damping: float = 0.0) -> torch.nn.Module:
    """Unlearn a feature (Warnecke et al.): the training set with that input feature zeroed
    everywhere (use the model on inputs with the feature zeroed too); in place."""
    X = train.X.copy().reshape(len(train), -1)
    X[:, feature] = 0.0
    changed = Samples(X.reshape(train.X.shape), train.y, train.ids)
    _apply(model, train, changed, weight_decay, update, steps, damping)
    return model


@register
@dataclass
class Influence(UnlearningMethod):
    """Closed-form influence update of the linear head to the retain objective's optimum
    (Koh & Liang, ICML 2017; Warnecke et al., NDSS 2023)."""

    name = "influence"
    paper = ("Influence-based closed-form unlearning (Koh & Liang, ICML 2017; Warnecke et al., "
             "NDSS 2023)")

    update: str = hparam("newton", "newton: Newton steps on the retain objective to its optimum "
                                   "(the first step is Warnecke et al.'s update when the baseline "
                                   "is converged); warnecke: the paper's single update "
                                   "-H^-1 (grad changed - grad original) from a baseline first "
                                   "converged on the full objective (not timed)")
    steps: int = hparam(50, "most Newton steps (newton update); stops earlier once the retain "
                            "gradient vanishes", low=1, high=1000)
    weight_decay: float = hparam(-1.0, "L2 weight of the objective (torch's weight_decay); "
                                       "negative: the training recipe's, as the papers assume "
                                       "the model minimises the same objective", high=1e3)
    damping: float = hparam(1e-6, "added to the Hessian (per sample) to keep it invertible "
                                  "(dead units, no weight decay); papers: 0. The newton "
                                  "update's fixed point does not depend on it", low=0,
                         high=1e3)

    def _decay(self, ctx) -> float:
        return ctx.train_config.weight_decay if self.weight_decay < 0 else self.weight_decay

    def prepare(self, model, forget, retain, ctx, log) -> None:
        self._converged: Optional[torch.Tensor] = None
        if self.update != "warnecke":
            return
        probe = clone_model(model)
        full = _concat(forget, retain)
        rep = newton_to_optimum(probe, full, self._decay(ctx), steps=100,
                                damping=self.damping)
        self._converged = HeadProblem.get(probe.head)
        log.append(f"baseline head converged on the full objective before unlearning (not "
                   f"timed): gradient norm {rep.grad_before:.2e} -> {rep.grad_after:.2e} "
                   f"in {rep.steps} Newton steps")

    def _unlearn(self, model, forget, retain, ctx, log):
        wd = self._decay(ctx)
        if wd == 0:
            log.append("the recipe has no weight decay: on separable data the objective has "
                       "no finite optimum, and where the Newton steps stop (gradient below "
                       "tolerance, or the step limit) decides the result; set weight_decay")
        if self.update == "warnecke":
            HeadProblem.put(model.head, self._converged)
            rep = warnecke_update(model, _concat(forget, retain), retain, wd, self.damping)
        else:
            rep = _apply(model, retain, retain, wd, self.update, self.steps, self.damping)
        log.append(f"{self.update} influence update of the head on {len(retain)} retain samples "
                   f"({len(forget)} removed), weight decay {wd:g}: retain gradient norm per "
                   f"sample {rep.grad_before:.2e} -> {rep.grad_after:.2e} in {rep.steps} "
                   f"step(s)")
        return model


def _concat(a: Samples, b: Samples) -> Samples:
    return Samples.concat([a, b])

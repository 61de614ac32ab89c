"""Closed-form unlearning by influence (Koh & Liang, ICML 2017; Warnecke et al., "Machine
Unlearning of Features and Labels", NDSS 2023): replace the affected training points Z by their
corrected versions Z~ (nothing, for deletion) and move the parameters by one step on the changed
objective: first order theta - tau * grad, second order theta - H^-1 grad, with H the Hessian
of the regularised training loss. Exact to second order for convex models (``logreg``); for
networks it updates the linear head on fixed embeddings, an approximation.

Besides the registry method (deletion), the module offers ``correct_labels`` and
``remove_feature`` for the other two operations of Warnecke et al."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..data.dataset import Samples
from ..errors import MethodError
from .base import UnlearningMethod, hparam
from .registry import register


def _head_and_embeddings(model, X: np.ndarray) -> tuple[torch.nn.Linear, torch.Tensor]:
    head, body = getattr(model, "head", None), getattr(model, "body", None)
    if not isinstance(head, torch.nn.Linear) or body is None:
        raise MethodError("influence needs a registry model (a body and a linear head)")
    with torch.no_grad():
        emb = body(torch.as_tensor(X, dtype=torch.float32))
    return head, emb.reshape(len(X), -1)


def influence_step(model, data: Samples, order: int = 2, weight_decay: float = 1e-4,
                   damping: float = 1e-3, tau: float = 1e-3) -> torch.nn.Module:
    """One step toward the optimum of the (changed) training set ``data``, in place, on the
    head: objective = sum of cross-entropies + n * weight_decay / 2 * ||theta||^2."""
    head, emb = _head_and_embeddings(model, data.X)
    y = torch.as_tensor(data.y, dtype=torch.long)
    k, d = head.weight.shape
    theta = torch.cat([head.weight.detach().flatten(), head.bias.detach()]).double()
    E = emb.double()
    n = len(y)

    def objective(t: torch.Tensor) -> torch.Tensor:
        W, b = t[:k * d].view(k, d), t[k * d:]
        return F.cross_entropy(E @ W.T + b, y, reduction="sum") + n * weight_decay / 2 * t @ t

    grad = torch.autograd.functional.jacobian(objective, theta)
    if order == 1:
        new = theta - tau * grad
    else:
        H = torch.autograd.functional.hessian(objective, theta)
        H = H + damping * n * torch.eye(len(theta), dtype=H.dtype)
        new = theta - torch.linalg.solve(H, grad)
    with torch.no_grad():
        head.weight.copy_(new[:k * d].view(k, d).float())
        head.bias.copy_(new[k * d:].float())
    return model


def correct_labels(model, train: Samples, positions: np.ndarray, new_labels: np.ndarray,
                   **kw) -> torch.nn.Module:
    """Unlearn wrong labels: the training set with the given samples relabelled."""
    y = train.y.copy()
    y[positions] = new_labels
    return influence_step(model, Samples(train.X, y, train.ids), **kw)


def remove_feature(model, train: Samples, feature: int, **kw) -> torch.nn.Module:
    """Unlearn a feature: the training set with that input feature zeroed everywhere (the
    model should then be used on inputs with the feature zeroed too)."""
    X = train.X.copy().reshape(len(train), -1)
    X[:, feature] = 0.0
    return influence_step(model, Samples(X.reshape(train.X.shape), train.y, train.ids), **kw)


@register
@dataclass
class Influence(UnlearningMethod):
    name = "influence"
    paper = ("Influence-based closed-form unlearning (Koh & Liang, ICML 2017; Warnecke et al., "
             "NDSS 2023)")

    order: int = hparam(2, "1: gradient step, 2: Newton step with the Hessian")
    damping: float = hparam(1e-6, "added to the Hessian (per sample), keeps it invertible")
    tau: float = hparam(1e-3, "first-order step size")

    def _unlearn(self, model, forget, retain, ctx, log):
        wd = max(ctx.train_config.weight_decay, 1e-4)
        influence_step(model, retain, self.order, wd, self.damping, self.tau)
        log.append(f"order-{self.order} influence update of the head on {len(retain)} retain "
                   f"samples ({len(forget)} removed)")
        return model

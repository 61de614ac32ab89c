"""Weight-space evidence: did the unlearned model leave the original's basin, and how far?

Two figures shown beside the retrain band, not pass/fail (they are not calibrated: retrains
from other seeds sit in permuted basins, Entezari et al., arXiv 2110.06296; Ainsworth et al.,
"Git Re-Basin", arXiv 2209.04836):

- **Loss barrier** on the straight line from the original to the unlearned weights (linear mode
  connectivity, Frankle et al., "Linear Mode Connectivity and the Lottery Ticket Hypothesis",
  ICML 2020, arXiv 1912.05671): theta(a) = (1 - a) theta_o + a theta_u at 21 points,
  B = max_a [L(theta(a)) - ((1 - a) L(theta_o) + a L(theta_u))]. B ~ 0 means the model never
  left the original's basin (typical of suppression). BatchNorm statistics are re-estimated on
  retain batches at every point (stale statistics make a spurious barrier); integer buffers
  are never interpolated.
- **Distance ratio** rho = ||theta_u - theta_o|| / ||theta_r - theta_o|| against the retrains:
  rho << 1 says the method barely moved.

A plain function module: nothing here is registered as a check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from unlearn_core.data.dataset import Samples
from unlearn_core.models.io import clone_model


def _params(model: nn.Module) -> list[torch.Tensor]:
    return [p for p in model.parameters() if p.is_floating_point()]


def _check_like(a: nn.Module, b: nn.Module) -> None:
    pa, pb = _params(a), _params(b)
    if len(pa) != len(pb) or any(x.shape != y.shape for x, y in zip(pa, pb)):
        raise ValueError("weight-space evidence compares models of the same architecture: "
                         f"{len(pa)} against {len(pb)} parameter tensors or different shapes")


def flat_distance(a: nn.Module, b: nn.Module) -> float:
    """L2 distance between the float parameters of two models of the same architecture
    (matched in ``parameters()`` order, so wrappers around the same network compare)."""
    _check_like(a, b)
    with torch.no_grad():
        return math.sqrt(sum(float(((x.double() - y.double()) ** 2).sum())
                             for x, y in zip(_params(a), _params(b))))


def distance_ratio(model: nn.Module, original: nn.Module, reference: nn.Module) -> float:
    """rho = ||model - original|| / ||reference - original|| (NaN when the reference equals
    the original)."""
    denom = flat_distance(reference, original)
    return flat_distance(model, original) / denom if denom > 0 else math.nan


def _batchnorms(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def _refresh_batchnorm(model: nn.Module, samples: Optional[Samples], batches: int = 8,
                       batch_size: int = 128, seed: int = 0) -> None:
    bns = _batchnorms(model)
    if not bns or samples is None or len(samples) == 0:
        return
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    model.train()
    rng = np.random.default_rng(seed)
    for _ in range(batches):
        idx = rng.choice(len(samples), min(batch_size, len(samples)), replace=False)
        model(torch.as_tensor(samples.X[idx], dtype=torch.float32))
    model.eval()


def interpolate(original: nn.Module, model: nn.Module, alpha: float,
                bn_samples: Optional[Samples] = None, seed: int = 0) -> nn.Module:
    """A copy of ``model`` with float parameters (1 - alpha) * original + alpha * model;
    BatchNorm statistics re-estimated on ``bn_samples`` when the model has any."""
    _check_like(original, model)
    out = clone_model(model)
    with torch.no_grad():
        for p, o, u in zip(_params(out), _params(original), _params(model)):
            p.copy_((1.0 - alpha) * o.detach() + alpha * u.detach())
    _refresh_batchnorm(out, bn_samples, seed=seed)
    out.eval()
    return out


@torch.no_grad()
def _loss_acc(model: nn.Module, samples: Samples) -> tuple[float, float]:
    model.eval()
    X = torch.as_tensor(samples.X, dtype=torch.float32)
    y = torch.as_tensor(samples.y, dtype=torch.long)
    logits = model(X).double()
    return float(F.cross_entropy(logits, y)), float((logits.argmax(1) == y).double().mean())


@dataclass
class BarrierCurve:
    """Loss and accuracy along theta(a) = (1 - a) original + a model, per evaluation set."""

    alphas: np.ndarray
    loss: dict[str, np.ndarray] = field(default_factory=dict)
    accuracy: dict[str, np.ndarray] = field(default_factory=dict)
    barrier: dict[str, float] = field(default_factory=dict)


def loss_barrier(original: nn.Module, model: nn.Module, sets: dict[str, Samples],
                 points: int = 21, bn_samples: Optional[Samples] = None,
                 seed: int = 0) -> BarrierCurve:
    """Loss barrier on the line from ``original`` to ``model`` (Frankle et al., ICML 2020),
    linear-interpolation form: max over alpha of L(theta(alpha)) minus the straight line
    between the endpoint losses, per named evaluation set (e.g. retain and forget)."""
    alphas = np.linspace(0.0, 1.0, points)
    loss = {k: np.zeros(points) for k in sets}
    acc = {k: np.zeros(points) for k in sets}
    for i, a in enumerate(alphas):
        net = interpolate(original, model, float(a), bn_samples, seed)
        for k, s in sets.items():
            loss[k][i], acc[k][i] = _loss_acc(net, s)
    barrier = {k: float(np.max(v - ((1 - alphas) * v[0] + alphas * v[-1]))) for k, v in
               loss.items()}
    return BarrierCurve(alphas, loss, acc, barrier)


def weight_space_evidence(model: nn.Module, ctx, points: int = 21,
                          max_samples: int = 1000) -> dict[str, float]:
    """Plain figures for one model of an audit (``ctx``: a ``CheckContext``): the loss barrier
    from the original on retain and forget data (seeded subsample of at most ``max_samples``
    each), and the distance to the original relative to each retrain's (mean and range)."""
    rng = np.random.default_rng(ctx.seed * 1_000_003 + 909)

    def sub(s: Samples) -> Samples:
        return s if len(s) <= max_samples else s.take(
            np.sort(rng.choice(len(s), max_samples, replace=False)))

    retain, forget = sub(ctx.data.retain), sub(ctx.data.forget)
    sets = {k: v for k, v in (("retain", retain), ("forget", forget)) if len(v)}
    curve = loss_barrier(ctx.original, model, sets, points, retain, ctx.seed)
    out = {f"barrier_{k}": v for k, v in curve.barrier.items()}
    out["distance"] = flat_distance(model, ctx.original)
    refs = [r for r in ctx.references if r is not model]
    if refs:
        ratios = [distance_ratio(model, ctx.original, r) for r in refs]
        out.update(distance_ratio=float(np.mean(ratios)), distance_ratio_min=float(min(ratios)),
                   distance_ratio_max=float(max(ratios)))
    return out

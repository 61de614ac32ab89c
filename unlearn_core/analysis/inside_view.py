"""What the "Look inside" views draw, computed from an audit's live models (plain dataclasses).

- ``cka_curves``: linear CKA with the original model layer by layer on the forget inputs, for
  the original (1 at every layer), each retrain and each method (Kornblith et al., ICML 2019;
  Kim et al., "Are We Truly Forgetting?", arXiv 2503.06991, read CKA against retrain). A model
  that only hides the forgotten data at its output keeps CKA ~ 1 up to the penultimate layer.
- ``relearn_curves``: held-out accuracy and loss of the forgotten data after each step of the
  relearning attack (Hu et al., arXiv 2406.13356; Siddiqui et al., arXiv 2505.22310), the same
  recipe as the ``relearn`` check, with step 0 (before any update); retrains give the band.
- ``twin_map``: the Unlearning Comparator's twin embedding view (Lee et al., arXiv
  2508.12730): penultimate features of the original ("before") and of a method ("after") on the
  same inputs, projected by ONE 2-D PCA fitted once on both, so positions compare across the
  two panels; the forget samples are marked.
- ``cka_curves_from_result``: the same curves from a recorded ``cka`` check (its per-block
  detail), for reports written without the live models.

Figures are in ``charts.inside``; the dashboard calls both (``pages/inside_view.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from unlearn_core.checks.base import CheckContext
from unlearn_core.checks.cka import linear_cka
from unlearn_core.checks.probe import layer_features
from unlearn_core.checks.relearn import RelearnCheck, make_relearn_plan, relearn_curve

ROLES = ("original", "retrain", "method")


@dataclass
class ModelCurve:
    """One model's values along a curve (layers or steps)."""

    model: str
    role: str  # "original", "retrain" or "method"
    values: np.ndarray


@dataclass
class CkaCurves:
    """CKA with the original at each layer (``layers``, input side first) on ``n`` inputs."""

    layers: list[str]
    split: str
    n: int
    curves: list[ModelCurve] = field(default_factory=list)


@dataclass
class RelearnCurves:
    """Held-out forgotten accuracy and loss per relearning step (step 0: before any update)."""

    steps: np.ndarray
    accuracy: list[ModelCurve]
    loss: list[ModelCurve]
    n_eval: int
    n_attack: int
    lr: float


@dataclass
class TwinMap:
    """Two panels of one projection: ``coords_*`` = (features - ``mean``) @ ``components``.T."""

    before: str
    after: str
    coords_before: np.ndarray  # (n, 2)
    coords_after: np.ndarray  # (n, 2)
    labels: np.ndarray  # (n,) true classes
    is_forget: np.ndarray  # (n,) bool
    ids: np.ndarray  # (n,) sample ids
    mean: np.ndarray  # (d,)
    components: np.ndarray  # (2, d)
    explained: np.ndarray  # (2,) share of the variance of both feature sets together


def band(curves: Sequence[ModelCurve], role: str = "retrain") -> tuple[np.ndarray, np.ndarray]:
    """(low, high) envelope of the curves of ``role`` (min and max at each point)."""
    vals = np.stack([c.values for c in curves if c.role == role]) if any(
        c.role == role for c in curves) else np.zeros((0, 0))
    if not len(vals):
        return np.zeros(0), np.zeros(0)
    return np.nanmin(vals, 0), np.nanmax(vals, 0)


def _cap(n: int, limit: int, seed: int) -> np.ndarray:
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, limit, replace=False))


def cka_curves(original: nn.Module, models: Sequence[tuple[str, str, nn.Module]],
               X: np.ndarray, split: str = "forget") -> CkaCurves:
    """Linear CKA of each ``(name, role, model)`` with ``original`` at every block and the
    penultimate layer, on inputs ``X``; the original itself comes first (1 everywhere)."""
    ref = layer_features(original, X, blocks=True, pool=False)
    layers = sorted((k for k in ref if k != "penultimate"), key=lambda s: int(s[5:])) + [
        "penultimate"]
    out = CkaCurves(layers, split, len(X), [ModelCurve("original", "original", np.array(
        [linear_cka(ref[k], ref[k]) for k in layers]))])
    for name, role, model in models:
        f = layer_features(model, X, blocks=True, pool=False)
        out.curves.append(ModelCurve(name, role, np.array(
            [linear_cka(f[k], ref[k]) if k in f else np.nan for k in layers])))
    return out


def relearn_curves(models: Sequence[tuple[str, str, nn.Module]], ctx: CheckContext,
                   steps: Optional[int] = None, lr: Optional[float] = None,
                   n_attack: Optional[int] = None) -> RelearnCurves:
    """The relearning attack of the ``relearn`` check (same plan, learning rate and retain
    batches; one data order) on every model, recorded after each step."""
    check = RelearnCheck()
    steps = int(steps or check.steps)
    lr = float(lr or check.lr)
    plan = make_relearn_plan(ctx, int(n_attack or check.n_attack))
    Xe = torch.as_tensor(plan.eval_X, dtype=torch.float32)
    ye = torch.as_tensor(plan.eval_y, dtype=torch.long)
    accs, losses = [], []
    for name, role, model in models:
        model.eval()
        with torch.no_grad():
            logits = model(Xe).float()
        acc0 = float((logits.argmax(1) == ye).float().mean())
        loss0 = float(F.cross_entropy(logits, ye))
        correct, loss = relearn_curve(model, plan, steps, lr, check.batch_size, True, True,
                                      ctx.seed * 1_000_003 + 7_000)
        accs.append(ModelCurve(name, role, np.concatenate([[acc0], correct.mean(1)])))
        losses.append(ModelCurve(name, role, np.concatenate([[loss0], loss])))
    return RelearnCurves(np.arange(steps + 1), accs, losses, len(plan.eval_y),
                         len(plan.attack_y), lr)


def twin_map(before: nn.Module, after: nn.Module, X: np.ndarray, y: np.ndarray,
             is_forget: np.ndarray, ids: Optional[np.ndarray] = None,
             names: tuple[str, str] = ("original", "method")) -> TwinMap:
    """Penultimate features of ``before`` and ``after`` on ``X`` under one PCA fitted once on
    both sets together (neither model's geometry is privileged; the same axes in both panels)."""
    fb = layer_features(before, X)["penultimate"]
    fa = layer_features(after, X)["penultimate"]
    if fb.shape[1] != fa.shape[1]:
        raise ValueError(f"the two models' features differ in width ({fb.shape[1]} against "
                         f"{fa.shape[1]}): one projection cannot hold both")
    both = np.concatenate([fb, fa])
    mean = both.mean(0)
    _, s, vt = np.linalg.svd(both - mean, full_matrices=False)
    components = vt[:2]
    if components.shape[0] < 2:  # one feature: a flat second axis
        components = np.vstack([components, np.zeros_like(components)])
    for i in range(2):  # a sign convention, so a rerun draws the same picture
        j = int(np.argmax(np.abs(components[i])))
        if components[i, j] < 0:
            components[i] = -components[i]
    total = float((s ** 2).sum()) or 1.0
    explained = np.array([(s[i] ** 2) / total if i < len(s) else 0.0 for i in range(2)])
    return TwinMap(names[0], names[1], (fb - mean) @ components.T, (fa - mean) @ components.T,
                   np.asarray(y), np.asarray(is_forget, dtype=bool),
                   np.asarray(ids) if ids is not None else np.arange(len(X)), mean,
                   components, explained)


def map_inputs(run, limit_test: int = 800, limit_forget: int = 300
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Inputs of the twin map: a seeded subset of the test split and of the forget set;
    returns X, y, is_forget, ids."""
    seed = int(run.result.config.seed)
    test, forget = run.data.test, run.data.forget
    ti, fi = _cap(len(test), limit_test, seed + 31), _cap(len(forget), limit_forget, seed + 37)
    X = np.concatenate([test.X[ti], forget.X[fi]])
    y = np.concatenate([test.y[ti], forget.y[fi]])
    is_forget = np.concatenate([np.zeros(len(ti), bool), np.ones(len(fi), bool)])
    ids = np.concatenate([test.ids[ti], forget.ids[fi]])
    return X, y, is_forget, ids


def retrain_models(run, limit: int = 6) -> list[tuple[str, str, nn.Module]]:
    """(name, "retrain", model) of an audit run's reference ensemble (at most ``limit``)."""
    res = run.result
    names = [e.name for e in res.references if e.reference_group in ("retrain", "")] or \
        [res.retrain.name]
    return [(n, "retrain", run.models[n]) for n in names[:limit] if n in run.models]


def method_models(run, method: Optional[str] = None) -> list[tuple[str, str, nn.Module]]:
    """(name, "method", model) of one method of an audit run, or of every method."""
    names = [method] if method else [e.name for e in run.result.methods]
    return [(n, "method", run.models[n]) for n in names if n in run.models]


def check_context(run) -> CheckContext:
    """A CheckContext over an audit run's data, original and retrain ensemble."""
    return CheckContext(run.data, run.models["baseline"],
                        [m for _, _, m in retrain_models(run)], int(run.result.config.seed))


def main_group(result) -> set[str]:
    """Labels of the models judged against the retrain ensemble: its members, the original
    and the methods that use it (an exact method's own ensemble and control are left out)."""
    refs = {e.name for e in result.references if e.reference_group in ("retrain", "")}
    methods = {e.name for e in result.methods if e.reference in ("retrain", "")}
    return refs | methods | {result.baseline.name}


def cka_curves_from_result(result) -> Optional[CkaCurves]:
    """CKA-by-layer curves from a recorded ``cka`` check (detail ``blockN_forget`` and the
    penultimate figure), or None when the check did not run: the report's form."""
    keep = main_group(result)
    ms = [m for m in result.measurements if m.check == "cka" and m.model in keep]
    if not ms:
        return None
    blocks = sorted({k[:-len("_forget")] for m in ms for k in m.detail
                     if k.startswith("block") and k.endswith("_forget")},
                    key=lambda s: int(s[5:]))
    layers = blocks + ["penultimate"]
    role = {"reference": "retrain", "control": "original", "method": "method"}
    curves = [ModelCurve(m.model, role.get(m.role, m.role), np.array(
        [m.detail.get(f"{b}_forget", np.nan) for b in blocks] + [m.figure]))
        for m in ms if m.role in role]
    curves.sort(key=lambda c: ROLES.index(c.role))
    return CkaCurves(layers, "forget", max(m.n for m in ms), curves)

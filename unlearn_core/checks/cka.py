"""Linear CKA between the audited model's features and the original's, layer by layer.

Centred kernel alignment (Kornblith, Norouzi, Lee & Hinton, "Similarity of Neural Network
Representations Revisited", ICML 2019, arXiv 1905.00414) compares two representations of the
same n inputs, X (n x p) and Y (n x q), after centring each column:

    CKA(X, Y) = ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F)
              = tr(K L) / sqrt(tr(K K) tr(L L)),  K = Xc Xc^T, L = Yc Yc^T.

It is 1 for identical representations and invariant to orthogonal transforms and isotropic
scaling (not to general linear maps). A model that only hides the forgotten data at its output
keeps CKA ~ 1 with the original at every layer below the head on the forget inputs; a model
retrained without them does not (Kim et al., "Are We Truly Forgetting?", arXiv 2503.06991,
compare CKA against the retrained model). Figure: CKA with the original at the penultimate
layer on the forget inputs; detail: every earlier block, the same on test inputs, and the mean
CKA with the retrain ensemble. This is evidence: an approximate method that starts from the
original stays closer to it than retrains from other seeds, so it is not a default check.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
from torch import nn

from unlearn_core.checks import register
from unlearn_core.checks.base import Check, CheckContext, Measurement
from unlearn_core.checks.probe import layer_features
from unlearn_core.models.features import features_problem


def _centred_gram(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    X = X - X.mean(0, keepdims=True)
    return X @ X.T


def _double_centre(K: np.ndarray) -> np.ndarray:
    """H K H with H = I - 11^T / n, in O(n^2)."""
    return K - K.mean(0, keepdims=True) - K.mean(1, keepdims=True) + K.mean()


def cka_from_grams(K: np.ndarray, L: np.ndarray) -> float:
    """Linear CKA from two n x n Gram matrices (centred here): tr(KHLH) normalised."""
    Kc, Lc = _double_centre(K), _double_centre(L)
    denom = math.sqrt(max(float((Kc * Kc).sum()) * float((Lc * Lc).sum()), 0.0))
    return float((Kc * Lc).sum() / denom) if denom > 0 else float("nan")


def linear_cka(X: np.ndarray, Y: np.ndarray) -> float:
    """Linear CKA (Kornblith et al., ICML 2019) between features X (n x p) and Y (n x q) of
    the same n inputs; NaN when either is constant."""
    if len(X) != len(Y):
        raise ValueError(f"CKA needs the same inputs: {len(X)} rows against {len(Y)}")
    return cka_from_grams(_centred_gram(X), _centred_gram(Y))


def cka_bootstrap_se(X: np.ndarray, Y: np.ndarray, reps: int = 100, seed: int = 0) -> float:
    """Bootstrap standard error of linear CKA over the inputs (rows resampled together)."""
    K, L = _centred_gram(X), _centred_gram(Y)
    n = len(K)
    if n < 3:
        return math.nan
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(reps):
        i = rng.integers(0, n, n)
        vals.append(cka_from_grams(K[np.ix_(i, i)], L[np.ix_(i, i)]))
    vals = np.asarray(vals)
    vals = vals[~np.isnan(vals)]
    return float(np.std(vals, ddof=1)) if len(vals) > 1 else math.nan


def cka_by_layer(a: nn.Module, b: nn.Module, X: np.ndarray) -> dict[str, float]:
    """Linear CKA of ``a`` and ``b`` on inputs ``X`` at every block both expose (flattened
    activations) and at the penultimate layer."""
    fa = layer_features(a, X, blocks=True, pool=False)
    fb = layer_features(b, X, blocks=True, pool=False)
    return {name: linear_cka(fa[name], fb[name]) for name in fa if name in fb}


@register
class CkaCheck(Check):
    """Linear CKA with the original model on the forget inputs (Kornblith et al., ICML 2019;
    Kim et al., arXiv 2503.06991): ~1 when the features never changed."""

    name = "cka"
    title = "Feature similarity to the original (CKA)"
    paper = ("Kornblith et al., 'Similarity of Neural Network Representations Revisited', "
             "ICML 2019; Kim et al., 'Are We Truly Forgetting?', arXiv 2503.06991")
    kind = "forgetting"
    sides = "high"
    forgotten_side = "low"
    closeness = False
    default = False
    unit = ""
    bounds = (0.0, 1.0)  # linear CKA lies in [0, 1]
    cost = "one forward pass per model and a few n x n Gram matrices"
    rules_out = ("suppression",)  # a powered pass rules these forgery families out

    max_inputs = 500  # forget (and test) inputs used, seeded subsample beyond that
    bootstrap = 100

    def applicable(self, ctx: CheckContext) -> Optional[str]:
        if len(ctx.data.forget) < 3:
            return "CKA needs at least three forget inputs"
        why = features_problem(ctx.original, ctx.data.forget.X)
        return f"CKA compares the features feeding the output layer: {why}" if why else None

    def _inputs(self, ctx: CheckContext, which: str) -> np.ndarray:
        key = ("cka.inputs", which, self.max_inputs)
        if key not in ctx.cache:
            X = ctx.data.forget.X if which == "forget" else ctx.data.test.X
            if len(X) > self.max_inputs:
                rng = np.random.default_rng(ctx.seed * 1_000_003 + 808)
                X = X[np.sort(rng.choice(len(X), self.max_inputs, replace=False))]
            ctx.cache[key] = X
        return ctx.cache[key]

    def _original_features(self, ctx: CheckContext, which: str) -> dict[str, np.ndarray]:
        key = ("cka.original", which, self.max_inputs)
        if key not in ctx.cache:
            ctx.cache[key] = layer_features(ctx.original, self._inputs(ctx, which),
                                            blocks=True, pool=False)
        return ctx.cache[key]

    def _reference_features(self, ctx: CheckContext, i: int, ref: nn.Module) -> np.ndarray:
        key = ("cka.reference", i, self.max_inputs)
        if key not in ctx.cache:
            ctx.cache[key] = layer_features(ref, self._inputs(ctx, "forget"))["penultimate"]
        return ctx.cache[key]

    def measure(self, model: nn.Module, ctx: CheckContext,
                others: Optional[list[nn.Module]] = None) -> Measurement:
        Xf = self._inputs(ctx, "forget")
        mine = layer_features(model, Xf, blocks=True, pool=False)
        orig = self._original_features(ctx, "forget")
        figure = linear_cka(mine["penultimate"], orig["penultimate"])
        se = cka_bootstrap_se(mine["penultimate"], orig["penultimate"], self.bootstrap, ctx.seed)
        detail = {f"{name}_forget": linear_cka(mine[name], orig[name])
                  for name in mine if name in orig and name != "penultimate"}
        Xt = self._inputs(ctx, "test")
        detail["penultimate_test"] = linear_cka(
            layer_features(model, Xt)["penultimate"],
            self._original_features(ctx, "test")["penultimate"])
        refs = [(i, r) for i, r in enumerate(ctx.references) if r is not model]
        if refs:
            detail["retrains_forget"] = float(np.mean([
                linear_cka(mine["penultimate"], self._reference_features(ctx, i, r))
                for i, r in refs]))
        return self._m(figure, 0.0 if math.isnan(se) else se, len(Xf), **detail)

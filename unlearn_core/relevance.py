"""Relevance maps: which input features a model's decision rests on, before and after
unlearning and for the retrain reference. A uniform Captum-style ``attribute(model, inputs,
target, method)`` over Integrated Gradients (Sundararajan et al., ICML 2017), SHAP's
GradientExplainer (expected gradients; Lundberg & Lee, NeurIPS 2017) and plain saliency
(Simonyan et al., 2014). Images give maps of the input shape; tabular data per-feature values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from .errors import ConfigError

ATTRIBUTIONS = ("ig", "shap", "saliency")


class _Logits(torch.nn.Module):
    """Wrap any model so explainers see a plain module returning logits (or one of them)."""

    def __init__(self, model: torch.nn.Module, output: Optional[int] = None) -> None:
        super().__init__()
        self.model = model
        self.output = output

    def forward(self, x):
        z = self.model(x)
        return z if self.output is None else z[:, self.output:self.output + 1]


def attribute(model, inputs: np.ndarray, target, method: str = "ig",
              baseline: Optional[np.ndarray] = None, background: Optional[np.ndarray] = None,
              steps: int = 64, seed: int = 0) -> np.ndarray:
    """Attributions of ``inputs`` (n, *shape) for the ``target`` class (int or per-sample)."""
    x = torch.as_tensor(np.asarray(inputs, dtype=np.float32))
    tgt = torch.as_tensor(np.broadcast_to(np.asarray(target), (len(x),)).astype(np.int64))
    net = _Logits(model).eval()
    torch.manual_seed(seed)
    if method == "ig":
        from captum.attr import IntegratedGradients

        base = torch.zeros_like(x) if baseline is None else torch.as_tensor(
            np.broadcast_to(baseline, x.shape).astype(np.float32))
        out = IntegratedGradients(net).attribute(x, base, target=tgt, n_steps=steps,
                                                 method="gausslegendre")
        return out.detach().numpy()
    if method == "saliency":
        from captum.attr import Saliency

        return Saliency(net).attribute(x, target=tgt, abs=False).detach().numpy()
    if method == "shap":
        import shap

        if background is None:
            raise ConfigError("SHAP needs background samples (e.g. some training data)")
        bg = torch.as_tensor(np.asarray(background, dtype=np.float32))
        out = np.zeros(x.shape, dtype=np.float32)
        for c in torch.unique(tgt).tolist():  # explain one output at a time: 1/K of the work
            rows = (tgt == c).nonzero().flatten()
            explainer = shap.GradientExplainer(_Logits(model, c).eval(), bg)
            values = np.asarray(explainer.shap_values(x[rows], nsamples=steps, rseed=seed))
            out[rows.numpy()] = values.reshape(len(rows), *x.shape[1:])
        return out
    raise ConfigError(f"unknown attribution '{method}': use {', '.join(ATTRIBUTIONS)}")


@dataclass
class RelevanceMaps:
    """One sample's (or one class's mean) relevance for the baseline, a method and retrain."""

    title: str
    target: int
    attribution: str
    method: str
    before: np.ndarray
    after: np.ndarray
    retrain: np.ndarray

    @property
    def after_minus_before(self) -> np.ndarray:
        return self.after - self.before

    @property
    def retrain_minus_before(self) -> np.ndarray:
        return self.retrain - self.before


def _explain(run, X: np.ndarray, target: int, method: str, attribution: str,
             seed: int) -> dict[str, np.ndarray]:
    train = run.data.train
    rng = np.random.default_rng(seed)
    bg = train.X[rng.choice(len(train), min(64, len(train)), replace=False)]
    out = {}
    for name in ("baseline", method, "retrain"):
        a = attribute(run.models[name], X, target, attribution, background=bg, seed=seed)
        out[name] = a.mean(0)
    return out


def sample_relevance(run, sample_id: int, method: str, attribution: str = "ig",
                     seed: int = 0) -> RelevanceMaps:
    """Maps for one sample, explained for its true class."""
    ds = run.data.dataset
    pos = int(ds.positions_of(np.array([sample_id]))[0])
    target = int(ds.y[pos])
    m = _explain(run, ds.X[pos:pos + 1], target, method, attribution, seed)
    return RelevanceMaps(f"sample {sample_id}", target, attribution, method, m["baseline"],
                         m[method], m["retrain"])


def class_relevance(run, class_index: int, method: str, attribution: str = "ig",
                    n: int = 32, seed: int = 0) -> RelevanceMaps:
    """Mean relevance over test samples of a class: what the model stopped looking at."""
    test = run.data.test
    X = test.X[test.y == class_index][:n]
    if len(X) == 0:
        raise ConfigError(f"no test samples of class {class_index}")
    m = _explain(run, X, class_index, method, attribution, seed)
    return RelevanceMaps(f"class {run.data.dataset.class_names[class_index]} (mean of {len(X)})",
                         class_index, attribution, method, m["baseline"], m[method],
                         m["retrain"])

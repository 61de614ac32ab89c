"""Relevance maps: which input features a model's decision rests on, before and after
unlearning and for the retrain reference. A uniform Captum-style ``attribute(model, inputs,
target, method)`` over Integrated Gradients (Sundararajan et al., ICML 2017), SHAP's
GradientExplainer (expected gradients; Lundberg & Lee, NeurIPS 2017), plain saliency
(Simonyan et al., 2014) and Layer-wise Relevance Propagation with the epsilon rule (Bach et al.,
PLoS ONE 2015; Montavon et al., "Layer-wise relevance propagation: an overview", 2019). Images
give maps of the input shape; tabular data per-feature values.

LRP is our own small implementation over the layer sequence, not ``captum.attr.LRP``: Captum's
has no rule for ``nn.Flatten``/``nn.Identity`` (both in our models) and, given one, propagates
wrong relevance through ``nn.Identity``; it also edits the model it explains (hooks, rules,
weight reloads), which is unsafe for models shared between app sessions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
from torch import nn

from unlearn_core.errors import ConfigError
from unlearn_core.models.architectures import Classifier

ATTRIBUTIONS = ("ig", "shap", "saliency", "lrp")
# LRP stabiliser: small against typical activations, so it mostly absorbs the relevance of
# near-zero (weak or contradictory) pre-activations rather than reshaping the whole map
LRP_EPSILON = 0.01


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
              steps: int = 64, seed: int = 0, epsilon: float = LRP_EPSILON) -> np.ndarray:
    """Attributions of ``inputs`` (n, *shape) for the ``target`` class (int or per-sample).

    ``steps`` is IG's integration points and SHAP's samples; ``epsilon`` is LRP's stabiliser."""
    x = torch.as_tensor(np.asarray(inputs, dtype=np.float32))
    tgt = torch.as_tensor(np.broadcast_to(np.asarray(target), (len(x),)).astype(np.int64))
    if method == "lrp":
        return lrp_epsilon(model, x, tgt, epsilon).numpy()
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


# layers LRP passes relevance through unchanged (up to a reshape): activations whose output is
# zero exactly where their input carries no relevance, and shape-only layers
_LRP_PASS = (nn.ReLU, nn.Flatten, nn.Identity, nn.Dropout)
# layers whose output is a sum of input contributions (weights, averages or a max): epsilon rule
_LRP_EPSILON = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.AvgPool1d, nn.AvgPool2d, nn.MaxPool1d,
                nn.MaxPool2d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d)


def _lrp_layers(model: nn.Module) -> list[nn.Module]:
    """The model as the sequence of layers its forward applies, or ConfigError saying why not.

    Only containers whose forward is known to chain their children are opened (exact types:
    a subclass may have its own forward)."""
    if isinstance(model, torch.jit.ScriptModule):
        raise ConfigError("LRP cannot see the layers of a TorchScript model: use ig, shap or "
                          "saliency for it")
    if type(model) is _Logits and model.output is None:
        return _lrp_layers(model.model)
    if type(model) is Classifier:
        return _lrp_layers(model.body) + _lrp_layers(model.head)
    if type(model) is nn.Sequential:
        return [layer for child in model for layer in _lrp_layers(child)]
    if type(model) in _LRP_PASS + _LRP_EPSILON:
        return [model]
    raise ConfigError(f"LRP supports sequences of Linear, Conv, pooling, ReLU and Flatten "
                      f"layers; this model has a {type(model).__name__}: use ig, shap or "
                      f"saliency for it")


def lrp_epsilon(model: nn.Module, x: torch.Tensor, target: torch.Tensor,
                epsilon: float = LRP_EPSILON) -> torch.Tensor:
    """LRP-epsilon (Bach et al., PLoS ONE 2015; Montavon et al., 2019) of ``x`` (n, *shape) for
    the per-sample ``target`` classes: relevances of the input's shape.

    The target logit is the output relevance. Each Linear/Conv/pooling layer ``z = layer(a)``
    passes ``R_j = a_j * sum_k dz_k/da_j * R_k / (z_k + epsilon * sign(z_k))`` down, computed as
    ``a * grad(z, a, R / (z + eps * sign z))``; for max-pooling this sends the relevance to the
    winning input. ReLU and Flatten pass it unchanged. Biases and epsilon absorb relevance, so
    the input relevance sums to the target logit only for a bias-free model as epsilon -> 0,
    where LRP-epsilon equals gradient x input on ReLU networks (Ancona et al., ICLR 2018).
    The model is not modified."""
    if not epsilon > 0:  # at 0, silent units (z = 0, R = 0) would divide 0 by 0
        raise ConfigError(f"LRP epsilon must be > 0 (a tiny one approximates LRP-0), got "
                          f"{epsilon}")
    layers = _lrp_layers(model)
    if len(x) == 0:
        return torch.zeros_like(x)
    acts = [x.detach()]
    with torch.no_grad():
        for layer in layers:  # dropout as in evaluation, whatever the model's mode
            acts.append(acts[-1] if isinstance(layer, nn.Dropout) else layer(acts[-1]))
    out = acts[-1]
    if out.dim() != 2 or not (0 <= int(target.min()) and int(target.max()) < out.shape[1]):
        raise ConfigError(f"LRP needs class logits (n, classes) and targets in range; got "
                          f"output of shape {tuple(out.shape)}")
    rows = torch.arange(len(out))
    relevance = torch.zeros_like(out)
    relevance[rows, target] = out[rows, target]
    for layer, a in zip(reversed(layers), reversed(acts[:-1])):
        if isinstance(layer, _LRP_PASS):
            relevance = relevance.reshape(a.shape)
            continue
        a = a.clone().requires_grad_(True)
        with torch.enable_grad():
            z = layer(a)
            sign = torch.where(z >= 0, 1.0, -1.0)
            share = (relevance / (z + epsilon * sign)).detach()
            (c,) = torch.autograd.grad(z, a, grad_outputs=share)
        relevance = (a * c).detach()
    return relevance


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

"""How close an unlearned model is to the retrain reference, in outputs and in weights
(Golatkar et al., CVPR 2020, activation distance; Chundawat et al., AAAI 2023, JS divergence;
weight-space L2 as in Triantafillou et al., NeurIPS 2023 competition analyses)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from unlearn_core.data.dataset import Samples
from unlearn_core.models.training import predict_proba

_EPS = 1e-12


def kl(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Per-row KL(p || q) in nats."""
    p, q = np.clip(p, _EPS, 1), np.clip(q, _EPS, 1)
    return (p * (np.log(p) - np.log(q))).sum(1)


def js(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Per-row Jensen-Shannon divergence in nats: symmetric, bounded by log 2."""
    m = (p + q) / 2
    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


@dataclass
class Closeness:
    """One model against the retrain reference (means over the samples of each split)."""

    name: str
    kl_forget: float
    js_forget: float
    kl_test: float
    js_test: float
    agreement_forget: float  # share of samples where both predict the same class
    agreement_test: float
    activation_distance_forget: float  # mean L2 distance between output probabilities
    activation_distance_test: float
    weight_l2: float  # NaN when the architectures differ


def weight_distance(a: nn.Module, b: nn.Module) -> float:
    """L2 distance between parameter vectors; NaN if the shapes do not match."""
    sa, sb = a.state_dict(), b.state_dict()
    if sa.keys() != sb.keys() or any(sa[k].shape != sb[k].shape for k in sa):
        return float("nan")
    total = sum(float(((sa[k].float() - sb[k].float()) ** 2).sum()) for k in sa
                if torch.is_floating_point(sa[k]))
    return math.sqrt(total)


def closeness(name: str, model: nn.Module, reference: nn.Module, forget: Samples,
              test: Samples) -> Closeness:
    """Output- and weight-space distances of ``model`` to ``reference``."""
    def stats(s: Samples) -> tuple[float, float, float, float]:
        if len(s) == 0:
            return (float("nan"),) * 4
        p, q = predict_proba(model, s.X), predict_proba(reference, s.X)
        return (float(kl(q, p).mean()), float(js(p, q).mean()),
                float((p.argmax(1) == q.argmax(1)).mean()),
                float(np.linalg.norm(p - q, axis=1).mean()))

    kf, jf, af, df = stats(forget)
    kt, jt, at, dt = stats(test)
    return Closeness(name, kf, jf, kt, jt, af, at, df, dt, weight_distance(model, reference))

"""MIA-efficacy (Jia et al., "Model Sparsity Can Simplify Machine Unlearning", NeurIPS 2023;
used by SalUn, Fan et al., ICLR 2024): an RBF SVC on an output feature (entropy by default)
learns retain (members) vs test (non-members); MIA-efficacy is the share of forget samples it
calls non-members. Higher means more forgotten; compare it with the retrain reference's value."""

from __future__ import annotations

import numpy as np
from sklearn.svm import SVC

from unlearn_core.data.dataset import Samples
from unlearn_core.models.training import predict_proba

_EPS = 1e-12


def output_feature(probs: np.ndarray, y: np.ndarray, kind: str = "entropy") -> np.ndarray:
    """Per-sample attack feature: ``entropy``, ``confidence`` (p_y) or ``m_entropy``
    (Song & Mittal's modified entropy, which uses the label)."""
    p = np.clip(probs, _EPS, 1.0)
    if kind == "entropy":
        return -(p * np.log(p)).sum(1)
    py = p[np.arange(len(y)), y]
    if kind == "confidence":
        return py
    if kind == "m_entropy":
        q = np.clip(1 - p, _EPS, 1.0)
        others = -(p * np.log(q))
        others[np.arange(len(y)), y] = 0.0
        return -(1 - py) * np.log(py) + others.sum(1)
    raise ValueError(f"unknown feature '{kind}': use entropy, confidence or m_entropy")


def mia_efficacy(model, forget: Samples, retain: Samples, test: Samples,
                 feature: str = "entropy", seed: int = 0, max_fit: int = 2000) -> float:
    """Share of forget samples an SVC (fit on balanced retain vs test) predicts as non-members."""
    calls = nonmember_calls(model, forget, retain, test, feature, seed, max_fit)
    return float("nan") if calls is None else float(calls.mean())


def nonmember_calls(model, forget: Samples, retain: Samples, test: Samples,
                    feature: str = "entropy", seed: int = 0,
                    max_fit: int = 2000) -> "np.ndarray | None":
    """Per forget sample, whether the SVC calls it a non-member (the per-sample evidence of
    ``mia_efficacy``); None when a split is empty."""
    if len(forget) == 0 or len(retain) == 0 or len(test) == 0:
        return None
    rng = np.random.default_rng(seed)
    n = min(len(retain), len(test), max_fit)
    mem = retain.take(np.sort(rng.choice(len(retain), n, replace=False)))
    non = test.take(np.sort(rng.choice(len(test), n, replace=False)))

    def feat(s: Samples) -> np.ndarray:
        return output_feature(predict_proba(model, s.X), s.y, feature).reshape(-1, 1)

    X = np.vstack([feat(mem), feat(non)])
    y = np.r_[np.ones(n), np.zeros(n)]
    svc = SVC(C=3, gamma="auto", kernel="rbf").fit(X, y)
    return svc.predict(feat(forget)) == 0

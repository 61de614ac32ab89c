"""RMIA, the robust membership inference attack (Zarifzadeh et al., "Low-Cost High-Power
Membership Inference Attacks", ICML 2024): x is a member when its likelihood ratio
Pr(x|theta) / Pr(x) beats that of most population samples z. Pr(x) averages a few reference
models trained without x (offline), corrected by the paper's linear factor ``a``."""

from __future__ import annotations

from dataclasses import asdict
from typing import Optional

import numpy as np

from unlearn_core.attacks.shadows import ShadowJob, logit_confidence, shadow_phis
from unlearn_core.data.dataset import Samples
from unlearn_core.models.training import predict_logits
from unlearn_core.progress import ProgressFn


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


class RMIAReference:
    """Reference models' Pr(y|x) on targets and on population samples z (all OUT)."""

    def __init__(self, p_targets: np.ndarray, p_z: np.ndarray, z: Samples) -> None:
        self.p_targets, self.p_z, self.z = p_targets, p_z, z

    def score(self, model, targets: Samples, a: float = 0.3, gamma: float = 1.0) -> np.ndarray:
        """Share of population samples z that x dominates by a factor ``gamma``."""
        px_theta = _sigmoid(logit_confidence(predict_logits(model, targets.X), targets.y))
        pz_theta = _sigmoid(logit_confidence(predict_logits(model, self.z.X), self.z.y))
        px = (1 + a) / 2 * self.p_targets.mean(0) + (1 - a) / 2
        pz = (1 + a) / 2 * self.p_z.mean(0) + (1 - a) / 2
        ratio_x, ratio_z = px_theta / px, pz_theta / pz
        return (ratio_x[:, None] / ratio_z[None, :] > gamma).mean(1)


def train_references(targets: Samples, z: Samples, pool: Samples, spec, recipe,
                     n_references: int = 4, seed: int = 0, executor: str = "local",
                     workers: int = 2, ray_address: Optional[str] = None,
                     progress: Optional[ProgressFn] = None, cache=None) -> RMIAReference:
    """Reference models on random halves of ``pool`` (never on targets or z); ``cache`` (an
    ``EnsembleCache``) reuses a reference set trained before on the same data."""
    data = Samples.concat([targets, z, pool])
    n_t, n_z = len(targets), len(z)
    rng = np.random.default_rng(seed + 7877)
    jobs = []
    for i in range(n_references):
        mask = np.zeros(len(data), bool)
        mask[n_t + n_z:] = rng.random(len(pool)) < 0.5
        jobs.append(ShadowJob(spec.to_json(), asdict(recipe), seed * 1000 + 500 + i, data.X,
                              data.y, mask, np.arange(n_t + n_z)))
    phi = shadow_phis(jobs, "rmia references", executor, workers, ray_address, progress, cache)
    p = _sigmoid(phi)
    return RMIAReference(p[:, :n_t], p[:, n_t:], z)

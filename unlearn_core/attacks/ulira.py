"""U-LiRA (Hayes et al., "Inexact Unlearning Needs More Careful Evaluations to Avoid a False
Sense of Privacy", 2024): shadow models are trained on random halves of a pool holding the
targets; in each, the targets it saw are then unlearned with the audited method. Per target,
phi = log(p_y / (1 - p_y)) is Gaussian-fitted when "unlearned" and when "never seen"; held-out
shadows then measure how well the two can be told apart. An exact method leaves AUC ~0.5."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

from unlearn_core.attacks.shadows import make_jobs, shadow_phis
from unlearn_core.data.dataset import Samples
from unlearn_core.errors import ConfigError
from unlearn_core.progress import ProgressFn


@dataclass
class ULiRAResult:
    """How distinguishable "unlearned" is from "never seen" for the audited method."""

    method: str
    auc: float  # attack AUC on held-out shadows: 0.5 = indistinguishable (ideal)
    accuracy: float  # best balanced accuracy of the likelihood-ratio test
    n_shadows: int
    scores_unlearned: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scores_never_seen: np.ndarray = field(default_factory=lambda: np.zeros(0))


def ulira(method: str, params: dict, targets: Samples, pool: Samples, spec, recipe,
          n_shadows: int = 16, seed: int = 0, executor: str = "local", workers: int = 2,
          ray_address: Optional[str] = None,
          progress: Optional[ProgressFn] = None, cache=None,
          method_pool: Optional[Samples] = None) -> ULiRAResult:
    """Run U-LiRA for ``method`` on ``targets``; half the shadows fit, half evaluate.
    ``cache`` (an ``EnsembleCache``) reuses shadows trained and unlearned before alike.
    ``method_pool``: unseen data the method may use in every shadow (mia_guided, gradient
    ascent's early stop, lrp_path), as an audit gives methods its method pool; no shadow trains
    on it, and it must share no sample with the targets or the shadows' pool (refused)."""
    parts = [targets, pool]
    unseen = None
    if method_pool is not None and len(method_pool):
        shared = np.intersect1d(method_pool.ids, np.concatenate([targets.ids, pool.ids]))
        if shared.size:
            raise ConfigError(f"U-LiRA: the methods' pool shares {shared.size} samples with the "
                              "attack's targets or shadow pool; it must be disjoint")
        parts.append(method_pool)
        unseen = np.arange(len(targets) + len(pool), len(targets) + len(pool) + len(method_pool))
    data = Samples.concat(parts)
    jobs, ins = make_jobs(spec, recipe, data.X, data.y, np.arange(len(targets)), n_shadows,
                          seed, unlearn=(method, dict(params)), unseen=unseen)
    phi = shadow_phis(jobs, "u-lira shadows", executor, workers, ray_address, progress,
                      cache)
    half = n_shadows // 2
    fit_phi, fit_in, ev_phi, ev_in = phi[:half], ins[:half], phi[half:], ins[half:]
    mu_u = np.array([fit_phi[fit_in[:, j], j].mean() if fit_in[:, j].any() else np.nan
                     for j in range(phi.shape[1])])
    mu_n = np.array([fit_phi[~fit_in[:, j], j].mean() if (~fit_in[:, j]).any() else np.nan
                     for j in range(phi.shape[1])])
    sd_u = float(np.nanstd(fit_phi[fit_in] - np.take(mu_u, np.nonzero(fit_in)[1]))) + 1e-6
    sd_n = float(np.nanstd(fit_phi[~fit_in] - np.take(mu_n, np.nonzero(~fit_in)[1]))) + 1e-6
    ok = ~(np.isnan(mu_u) | np.isnan(mu_n))
    score = norm.logpdf(ev_phi, mu_u, sd_u) - norm.logpdf(ev_phi, mu_n, sd_n)
    pos = score[:, ok][ev_in[:, ok]]
    neg = score[:, ok][~ev_in[:, ok]]
    labels = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    auc = float(roc_auc_score(labels, np.r_[pos, neg])) if len(pos) and len(neg) else np.nan
    acc = float(max(((pos > t).mean() + (neg <= t).mean()) / 2 for t in np.r_[pos, neg])) \
        if len(pos) and len(neg) else np.nan
    return ULiRAResult(method, auc, acc, n_shadows, pos, neg)

"""LiRA, the likelihood-ratio attack (Carlini et al., "Membership Inference Attacks From First
Principles", S&P 2022): shadow models trained on random halves of a pool give, per target, the
distribution of phi = log(p_y / (1 - p_y)) when the target was IN and when it was OUT. Online:
Gaussian likelihood ratio IN vs OUT; offline: how far phi sits above the OUT distribution."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy.stats import norm

from ..data.dataset import Samples
from ..models.training import predict_logits
from ..progress import ProgressFn
from .shadows import logit_confidence, make_jobs, run_jobs


@dataclass
class LiRAResult:
    """Per-target shadow statistics and the attack's scores for one audited model."""

    mu_in: np.ndarray
    mu_out: np.ndarray
    sd_in: float
    sd_out: float
    online: np.ndarray  # higher = member
    offline: np.ndarray
    n_shadows: int


@dataclass
class LiRAShadows:
    """Shadow phis for a set of targets, reusable to score several models."""

    phi: np.ndarray  # (shadows, targets)
    ins: np.ndarray  # (shadows, targets) bool

    def score(self, phi_target: np.ndarray) -> LiRAResult:
        """Global-variance LiRA (robust with few shadows, as in the paper's small-N setting)."""
        phi, ins = self.phi, self.ins
        mu_in = np.array([phi[ins[:, j], j].mean() if ins[:, j].any() else np.nan
                          for j in range(phi.shape[1])])
        mu_out = np.array([phi[~ins[:, j], j].mean() if (~ins[:, j]).any() else np.nan
                           for j in range(phi.shape[1])])
        sd_in = float(np.nanstd(phi[ins] - np.take(mu_in, np.nonzero(ins)[1]))) + 1e-6
        sd_out = float(np.nanstd(phi[~ins] - np.take(mu_out, np.nonzero(~ins)[1]))) + 1e-6
        mu_in = np.where(np.isnan(mu_in), mu_out + 2 * sd_out, mu_in)
        mu_out = np.where(np.isnan(mu_out), mu_in - 2 * sd_in, mu_out)
        online = (norm.logpdf(phi_target, mu_in, sd_in) - norm.logpdf(phi_target, mu_out, sd_out))
        offline = norm.logcdf(phi_target, mu_out, sd_out)
        return LiRAResult(mu_in, mu_out, sd_in, sd_out, online, offline, len(phi))


def train_shadows(targets: Samples, pool: Samples, spec, recipe, n_shadows: int = 16,
                  seed: int = 0, executor: str = "local", workers: int = 2,
                  ray_address: Optional[str] = None,
                  progress: Optional[ProgressFn] = None) -> LiRAShadows:
    """Shadows on random halves of ``pool`` + ``targets``; each target IN about half the time."""
    data = Samples.concat([targets, pool])
    idx = np.arange(len(targets))
    jobs, ins = make_jobs(spec, recipe, data.X, data.y, idx, n_shadows, seed)
    phi = np.array(run_jobs(jobs, executor, workers, ray_address, progress))
    return LiRAShadows(phi, ins)


def lira(model, targets: Samples, shadows: LiRAShadows) -> LiRAResult:
    """Score ``model`` on ``targets`` against the shadows."""
    return shadows.score(logit_confidence(predict_logits(model, targets.X), targets.y))

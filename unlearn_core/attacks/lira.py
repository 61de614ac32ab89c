"""LiRA, the likelihood-ratio attack (Carlini et al., "Membership Inference Attacks From First
Principles", S&P 2022): shadow models trained on random halves of a pool give, per target, the
distribution of phi = log(p_y / (1 - p_y)) when the target was IN and when it was OUT. Online:
Gaussian likelihood ratio IN vs OUT; offline: how far phi sits above the OUT distribution.
The spreads are global by default (few shadows) or per example (``variance="per_example"``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from scipy.stats import norm

from unlearn_core.attacks.shadows import logit_confidence, make_jobs, shadow_phis
from unlearn_core.data.dataset import Samples
from unlearn_core.errors import ConfigError
from unlearn_core.models.training import predict_logits
from unlearn_core.progress import ProgressFn

VARIANCES = ("global", "per_example")


@dataclass
class LiRAResult:
    """Per-target shadow statistics and the attack's scores for one audited model.

    ``sd_in`` / ``sd_out`` are the global spreads; ``sd_in_target`` / ``sd_out_target`` the
    spreads each target was scored with (the global ones again under ``variance="global"``)."""

    mu_in: np.ndarray
    mu_out: np.ndarray
    sd_in: float
    sd_out: float
    online: np.ndarray  # higher = member
    offline: np.ndarray
    n_shadows: int
    variance: str = "global"
    sd_in_target: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sd_out_target: np.ndarray = field(default_factory=lambda: np.zeros(0))


def check_variance(variance: str) -> str:
    """Refuse an unknown LiRA variance mode with the known ones."""
    if variance not in VARIANCES:
        raise ConfigError(f"unknown LiRA variance '{variance}': use {', '.join(VARIANCES)}")
    return variance


def _per_target_sd(phi: np.ndarray, mask: np.ndarray, fallback: float) -> np.ndarray:
    """Each target's phi spread over the shadows in ``mask``; ``fallback`` (the global sd)
    where fewer than two shadows are there to estimate it."""
    count = mask.sum(0)
    safe = np.where(mask, phi, 0.0)
    mean = safe.sum(0) / np.maximum(count, 1)
    var = np.where(mask, (phi - mean) ** 2, 0.0).sum(0) / np.maximum(count, 1)
    return np.where(count >= 2, np.sqrt(var) + 1e-6, fallback)


@dataclass
class LiRAShadows:
    """Shadow phis for a set of targets, reusable to score several models."""

    phi: np.ndarray  # (shadows, targets)
    ins: np.ndarray  # (shadows, targets) bool
    variance: str = "global"  # the default of ``score``

    def score(self, phi_target: np.ndarray, variance: Optional[str] = None) -> LiRAResult:
        """Gaussian likelihood ratio per target (Carlini et al., S&P 2022).

        ``variance="global"`` pools the IN and OUT spreads over all targets (robust with few
        shadows: the paper recommends it below about 64); ``"per_example"`` uses each target's
        own IN and OUT spread, as the paper's online attack does with many shadows, falling
        back to the global spread where a target has fewer than two IN (or OUT) shadows.
        ``None`` takes the mode the shadows were trained for."""
        variance = check_variance(variance or self.variance)
        phi, ins = self.phi, self.ins
        mu_in = np.array([phi[ins[:, j], j].mean() if ins[:, j].any() else np.nan
                          for j in range(phi.shape[1])])
        mu_out = np.array([phi[~ins[:, j], j].mean() if (~ins[:, j]).any() else np.nan
                           for j in range(phi.shape[1])])
        sd_in = float(np.nanstd(phi[ins] - np.take(mu_in, np.nonzero(ins)[1]))) + 1e-6
        sd_out = float(np.nanstd(phi[~ins] - np.take(mu_out, np.nonzero(~ins)[1]))) + 1e-6
        mu_in = np.where(np.isnan(mu_in), mu_out + 2 * sd_out, mu_in)
        mu_out = np.where(np.isnan(mu_out), mu_in - 2 * sd_in, mu_out)
        if variance == "per_example":
            s_in, s_out = _per_target_sd(phi, ins, sd_in), _per_target_sd(phi, ~ins, sd_out)
        else:
            s_in = np.full(phi.shape[1], sd_in)
            s_out = np.full(phi.shape[1], sd_out)
        online = (norm.logpdf(phi_target, mu_in, s_in) - norm.logpdf(phi_target, mu_out, s_out))
        offline = norm.logcdf(phi_target, mu_out, s_out)
        return LiRAResult(mu_in, mu_out, sd_in, sd_out, online, offline, len(phi), variance,
                          s_in, s_out)


def train_shadows(targets: Samples, pool: Samples, spec, recipe, n_shadows: int = 16,
                  seed: int = 0, executor: str = "local", workers: int = 2,
                  ray_address: Optional[str] = None,
                  progress: Optional[ProgressFn] = None,
                  variance: str = "global", cache=None) -> LiRAShadows:
    """Shadows on random halves of ``pool`` + ``targets``; each target IN about half the time.
    ``variance`` ("global" or "per_example") is how ``score`` models the spreads by default;
    ``cache`` (an ``EnsembleCache``) reuses a shadow set trained before on the same data."""
    check_variance(variance)
    data = Samples.concat([targets, pool])
    idx = np.arange(len(targets))
    jobs, ins = make_jobs(spec, recipe, data.X, data.y, idx, n_shadows, seed)
    phi = shadow_phis(jobs, "lira shadows", executor, workers, ray_address, progress, cache)
    return LiRAShadows(phi, ins, variance)


def lira(model, targets: Samples, shadows: LiRAShadows,
         variance: Optional[str] = None) -> LiRAResult:
    """Score ``model`` on ``targets`` against the shadows (``variance``: see
    ``LiRAShadows.score``; None keeps the shadows' mode)."""
    return shadows.score(logit_confidence(predict_logits(model, targets.X), targets.y),
                         variance)

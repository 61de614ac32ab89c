"""Pieces several methods share: cycling minibatches, diagonal Fisher information, KL to a
teacher. Kept here so each method module reads as its paper's algorithm."""

from __future__ import annotations

import math
from typing import Iterator, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from unlearn_core.data.dataset import Samples
from unlearn_core.models.training import to_tensors


def cycle_batches(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Endless shuffled batches over ``n`` items (reshuffled each pass)."""
    while True:
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            yield order[start:start + batch_size]


FISHER_SAMPLES = 2000  # the seeded sample the diagonal Fisher is estimated on


def diagonal_fisher(model: nn.Module, samples: Samples, batch_size: int = 64,
                    max_samples: int = FISHER_SAMPLES, seed: int = 0) -> list[torch.Tensor]:
    """Empirical diagonal Fisher: mean squared gradient of the log-likelihood of the true label,
    per parameter, over (a seeded subsample of) ``samples``."""
    rng = np.random.default_rng(seed)
    idx = np.arange(len(samples)) if len(samples) <= max_samples else np.sort(
        rng.choice(len(samples), max_samples, replace=False))
    X, y = to_tensors(samples.take(idx))
    params = [p for p in model.parameters() if p.requires_grad]
    fisher = [torch.zeros_like(p) for p in params]
    model.eval()
    for start in range(0, len(y), batch_size):
        xb, yb = X[start:start + batch_size], y[start:start + batch_size]
        model.zero_grad()
        # summed loss: per-batch gradient squared approximates the per-sample sum cheaply
        F.cross_entropy(model(xb), yb, reduction="sum").backward()
        for f, p in zip(fisher, params):
            if p.grad is not None:
                f += p.grad.detach() ** 2 / len(yb)
    n_batches = max(1, (len(y) + batch_size - 1) // batch_size)
    return [f / n_batches for f in fisher]


def kl_to_teacher(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                  temperature: float = 1.0) -> torch.Tensor:
    """KL(teacher || student) at a temperature, batch mean."""
    t = temperature
    return F.kl_div(F.log_softmax(student_logits / t, 1), F.softmax(teacher_logits / t, 1),
                    reduction="batchmean") * t * t


def forget_and_retain_batches(n_forget: int, n_retain: int, retain_m: Optional[int],
                              batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """One epoch of shuffled batches of positions in ``[forget; retain]`` (forget first): every
    forget position and ``retain_m`` retain positions (a fresh seeded subset; all when None or
    not fewer than ``n_retain``)."""
    if retain_m is None or retain_m >= n_retain:
        kept = np.arange(n_retain)
    else:
        kept = np.sort(rng.choice(n_retain, retain_m, replace=False))
    pool = np.concatenate([np.arange(n_forget), n_forget + kept])
    order = rng.permutation(len(pool))
    for start in range(0, len(pool), batch_size):
        yield pool[order[start:start + batch_size]]


def retain_subset_size(share: float, per_forget: float, n_forget: int, n_retain: int,
                       floor: int) -> int:
    """Size of a fixed retain subset (Bad Teacher, UNSIR): ``share`` of the retain set when
    ``share`` > 0 (the papers' choice, which grows with the training set), else ``per_forget``
    per forget sample, at least ``floor``; all of it when ``per_forget`` is 0; at most
    ``n_retain``, at least 1."""
    if share > 0:
        return max(1, min(n_retain, int(share * n_retain)))
    if per_forget <= 0:
        return max(1, n_retain)
    return max(1, min(n_retain, max(floor, math.ceil(per_forget * n_forget))))


def gather(idx: np.ndarray, n_forget: int, Xf: torch.Tensor, yf: torch.Tensor,
           Xr: torch.Tensor, yr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch at positions ``idx`` of ``[forget; retain]`` without concatenating the two
    sets (a copy of the whole retain set would make the cost grow with the training set);
    forget rows first."""
    f, r = idx[idx < n_forget], idx[idx >= n_forget] - n_forget
    fi, ri = torch.as_tensor(f), torch.as_tensor(r)
    return torch.cat([Xf[fi], Xr[ri]]), torch.cat([yf[fi], yr[ri]])

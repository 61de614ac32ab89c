"""Pieces several methods share: cycling minibatches, diagonal Fisher information, KL to a
teacher. Kept here so each method module reads as its paper's algorithm."""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.dataset import Samples
from ..models.training import to_tensors


def cycle_batches(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Endless shuffled batches over ``n`` items (reshuffled each pass)."""
    while True:
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            yield order[start:start + batch_size]


def diagonal_fisher(model: nn.Module, samples: Samples, batch_size: int = 64,
                    max_samples: int = 2000, seed: int = 0) -> list[torch.Tensor]:
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

"""Training many models from scratch through one executor: the retrain ensemble that the verdict
is calibrated on, and the exact counterparts of exact methods. Each job carries its own seed, so
the serial, local process-pool and Ray executors give the same models."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np
from torch import nn

from .attacks.shadows import run_jobs
from .data.dataset import Samples
from .models import ModelSpec, TrainConfig, build_model, train_epochs
from .progress import ProgressFn


@dataclass
class TrainJob:
    """Train one model from scratch on ``(X, y, ids)`` with ``seed``; with ``method`` set, use
    that exact method's own from-scratch training (e.g. SISA's shards) instead of the recipe."""

    spec_json: str
    recipe: dict
    seed: int
    X: np.ndarray
    y: np.ndarray
    ids: np.ndarray
    method: Optional[tuple[str, dict]] = None
    parent_pid: int = 0


def run_train_job(job: TrainJob) -> nn.Module:
    """Top-level so process pools and Ray can ship it; returns the trained model."""
    import torch

    if job.parent_pid and os.getpid() != job.parent_pid:
        torch.set_num_threads(1)  # a worker: one thread each, the pool spreads the cores
    spec = ModelSpec.from_json(job.spec_json)
    recipe = TrainConfig(**job.recipe)
    data = Samples(job.X, job.y, job.ids)
    if job.method is not None:
        from .methods import UnlearnContext, make_method

        name, params = job.method
        ctx = UnlearnContext(spec.n_classes, job.seed, spec, recipe)
        return make_method(name, **params).from_scratch(data, ctx).eval()
    return train_epochs(build_model(spec, seed=job.seed), data, recipe, job.seed).eval()


def train_models(spec: ModelSpec, recipe: TrainConfig, data: Samples, seeds: list[int],
                 executor: str = "serial", ray_address: Optional[str] = None,
                 progress: Optional[ProgressFn] = None,
                 method: Optional[tuple[str, dict]] = None,
                 task: str = "retrain ensemble") -> list[nn.Module]:
    """One model per seed, trained from scratch on ``data`` (in seed order)."""
    jobs = [TrainJob(spec.to_json(), asdict(recipe), s, data.X, data.y, data.ids, method,
                     os.getpid()) for s in seeds]
    return run_jobs(jobs, executor, 2, ray_address, progress, fn=run_train_job, task=task)

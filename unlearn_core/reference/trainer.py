"""The ensemble trainer: many models trained from scratch through one executor (the retrain
ensemble the verdict is calibrated on, the exact counterparts of exact methods; shadow models and
KLOM's runs go through the same executors, ``reference.executors``). Each job carries its own
seed and runs on the same torch thread count on every executor, so the serial, local
process-pool and Ray executors give the models ``train_one`` gives, bit for bit.

The training set is shipped once per worker (the jobs of a batch share it), and the local pool's
workers stay warm between batches, so an ensemble costs K models and no per-model overhead
(``bench/bench_ensemble.py``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np
from torch import nn

from unlearn_core.data.dataset import Samples
from unlearn_core.models import ModelSpec, TrainConfig, build_model, train_epochs
from unlearn_core.progress import ProgressFn
from unlearn_core.reference.executors import run_jobs, torch_threads

THREADS_PER_MODEL = 1  # the same on every executor: the same numbers on every executor


@dataclass
class ModelJob:
    """What a job that trains a model from scratch carries: the architecture (``ModelSpec`` as
    JSON), the recipe (``TrainConfig`` as a dict), the seed and the data arrays, which are the
    same objects for every job of a batch, so they travel once per worker (``executors.pack``).
    """

    spec_json: str
    recipe: dict
    seed: int
    X: np.ndarray
    y: np.ndarray
    ids: np.ndarray


@dataclass
class TrainJob(ModelJob):
    """Train one model from scratch on ``(X, y, ids)`` with ``seed``; with ``method`` set, use
    that exact method's own from-scratch training (e.g. SISA's shards) instead of the recipe."""

    method: Optional[tuple[str, dict]] = None
    parent_pid: int = 0  # kept for old pickles; the executor sets the threads


def run_train_job(job: TrainJob) -> nn.Module:
    """Top-level so process pools and Ray can ship it; returns the trained model."""
    spec = ModelSpec.from_json(job.spec_json)
    recipe = TrainConfig(**job.recipe)
    data = Samples(job.X, job.y, job.ids)
    if job.method is not None:
        from unlearn_core.methods import UnlearnContext, make_method

        name, params = job.method
        ctx = UnlearnContext(spec.n_classes, job.seed, spec, recipe)
        return make_method(name, **params).from_scratch(data, ctx).eval()
    return train_epochs(build_model(spec, seed=job.seed), data, recipe, job.seed).eval()


def train_one(spec: ModelSpec, recipe: TrainConfig, data: Samples, seed: int,
              threads: Optional[int] = THREADS_PER_MODEL) -> nn.Module:
    """One model alone, exactly as a member of ``train_models`` with this seed is trained."""
    with torch_threads(threads):
        return run_train_job(TrainJob(spec.to_json(), asdict(recipe), seed, data.X, data.y,
                                      data.ids))


def train_models(spec: ModelSpec, recipe: TrainConfig, data: Samples, seeds: list[int],
                 executor: str = "serial", ray_address: Optional[str] = None,
                 progress: Optional[ProgressFn] = None,
                 method: Optional[tuple[str, dict]] = None,
                 task: str = "retrain ensemble", workers: int = 2,
                 threads: Optional[int] = THREADS_PER_MODEL) -> list[nn.Module]:
    """One model per seed, trained from scratch on ``data`` (in seed order), the K seeds split
    across the executor's workers."""
    jobs = [TrainJob(spec.to_json(), asdict(recipe), s, data.X, data.y, data.ids, method)
            for s in seeds]
    return run_jobs(jobs, executor, workers, ray_address, progress, fn=run_train_job, task=task,
                    threads=threads)

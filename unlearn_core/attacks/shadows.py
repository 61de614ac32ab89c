"""Training shadow models through an executor: in-process, a local process pool (default), or
Ray for an existing cluster (``ray.init(address=...)``). Every job carries its own seed, so all
executors give the same numbers."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from typing import Callable, Optional

import numpy as np

from ..errors import ConfigError
from ..progress import ProgressFn, report


@dataclass
class ShadowJob:
    """Train one shadow model on ``pool[in_mask]`` and return phi on the targets."""

    spec_json: str
    recipe: dict
    seed: int
    X: np.ndarray
    y: np.ndarray
    in_mask: np.ndarray
    targets: np.ndarray  # positions in the pool whose phi is returned
    unlearn: Optional[tuple[str, dict]] = None  # U-LiRA: then unlearn the IN targets
    n_classes: int = 0


def logit_confidence(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """LiRA's phi = log(p_y / (1 - p_y)), computed stably from logits."""
    z = logits.astype(np.float64)
    zy = z[np.arange(len(y)), y]
    others = z.copy()
    others[np.arange(len(y)), y] = -np.inf
    m = others.max(1)
    return zy - (m + np.log(np.exp(others - m[:, None]).sum(1)))


def run_job(job: ShadowJob) -> np.ndarray:
    """Top-level so process pools and Ray can ship it."""
    import torch

    from ..data.dataset import Samples
    from ..models import ModelSpec, TrainConfig, build_model, predict_logits, train_epochs

    torch.set_num_threads(1)
    spec = ModelSpec.from_json(job.spec_json)
    idx = np.flatnonzero(job.in_mask)
    data = Samples(job.X[idx], job.y[idx], idx.astype(np.int64))
    model = build_model(spec, seed=job.seed)
    recipe = TrainConfig(**job.recipe)
    train_epochs(model, data, recipe, job.seed)
    if job.unlearn is not None:
        from ..methods import UnlearnContext, make_method

        forget_mask = np.zeros(len(job.y), bool)
        forget_mask[job.targets] = True
        forget_mask &= job.in_mask
        f_idx, r_idx = np.flatnonzero(forget_mask), np.flatnonzero(job.in_mask & ~forget_mask)
        if len(f_idx):
            forget = Samples(job.X[f_idx], job.y[f_idx], f_idx.astype(np.int64))
            retain = Samples(job.X[r_idx], job.y[r_idx], r_idx.astype(np.int64))
            ctx = UnlearnContext(job.n_classes, job.seed, spec, recipe)
            name, params = job.unlearn
            model = make_method(name, **params).unlearn(model, forget, retain, ctx).model
    return logit_confidence(predict_logits(model, job.X[job.targets]), job.y[job.targets])


def run_jobs(jobs: list, executor: str = "local", workers: int = 2,
             ray_address: Optional[str] = None,
             progress: Optional[ProgressFn] = None, fn: Callable = run_job,
             task: str = "shadow models") -> list:
    """Run jobs with ``fn`` (a top-level function, so processes and Ray can ship it) on the
    serial, local process-pool or Ray executor; results in job order, the same on each."""
    out: list = []
    if executor == "serial" or (executor == "local" and len(jobs) <= 1):
        for i, job in enumerate(jobs):
            out.append(fn(job))
            report(progress, task, i + 1, len(jobs))
        return out
    if executor == "local":
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            for i, res in enumerate(pool.map(fn, jobs)):
                out.append(res)
                report(progress, task, i + 1, len(jobs))
        return out
    if executor == "ray":
        try:
            import ray
        except ImportError:
            raise ConfigError("the ray executor needs the 'ray' package (pip install ray)")
        if not ray.is_initialized():
            ray.init(address=ray_address, include_dashboard=False, ignore_reinit_error=True)
        remote = ray.remote(num_cpus=1)(fn)
        refs = [remote.remote(job) for job in jobs]
        for i, ref in enumerate(refs):
            out.append(ray.get(ref))
            report(progress, task, i + 1, len(jobs))
        return out
    raise ConfigError(f"unknown executor '{executor}': use serial, local or ray")


def make_jobs(spec, recipe, X: np.ndarray, y: np.ndarray, targets: np.ndarray, n: int,
              seed: int, unlearn: Optional[tuple[str, dict]] = None
              ) -> tuple[list[ShadowJob], np.ndarray]:
    """``n`` jobs on random halves of the pool; also the IN matrix (shadows x targets)."""
    rng = np.random.default_rng(seed + 104729)
    jobs, ins = [], []
    for i in range(n):
        mask = rng.random(len(y)) < 0.5
        jobs.append(ShadowJob(spec.to_json(), asdict(recipe), seed * 1000 + i, X, y, mask,
                              targets, unlearn, spec.n_classes))
        ins.append(mask[targets])
    return jobs, np.array(ins)



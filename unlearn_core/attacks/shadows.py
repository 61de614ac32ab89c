"""Shadow models: one job per shadow, trained on its random half of a pool, run through the
shared executors (``reference.executors``: serial, a warm local process pool, or Ray for an
existing cluster). The pool is shipped once per worker, and every job carries its own seed and
runs on one torch thread, so all executors give the same numbers."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Optional

import numpy as np

from unlearn_core.progress import ProgressFn, report
from unlearn_core.reference.cache import EnsembleCache, array_digest, fingerprint
from unlearn_core.reference.executors import run_jobs as _run_jobs


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
    # U-LiRA: positions no shadow trains on, the unseen data the method may use (its pool)
    unseen: Optional[np.ndarray] = None


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
    from unlearn_core.data.dataset import Samples
    from unlearn_core.models import (
        ModelSpec,
        TrainConfig,
        build_model,
        predict_logits,
        train_epochs,
    )

    spec = ModelSpec.from_json(job.spec_json)
    idx = np.flatnonzero(job.in_mask)
    data = Samples(job.X[idx], job.y[idx], idx.astype(np.int64))
    model = build_model(spec, seed=job.seed)
    recipe = TrainConfig(**job.recipe)
    train_epochs(model, data, recipe, job.seed)
    if job.unlearn is not None:
        from unlearn_core.methods import UnlearnContext, make_method

        forget_mask = np.zeros(len(job.y), bool)
        forget_mask[job.targets] = True
        forget_mask &= job.in_mask
        f_idx, r_idx = np.flatnonzero(forget_mask), np.flatnonzero(job.in_mask & ~forget_mask)
        if len(f_idx):
            forget = Samples(job.X[f_idx], job.y[f_idx], f_idx.astype(np.int64))
            retain = Samples(job.X[r_idx], job.y[r_idx], r_idx.astype(np.int64))
            pool = None
            if job.unseen is not None and len(job.unseen):
                pool = Samples(job.X[job.unseen], job.y[job.unseen],
                               np.asarray(job.unseen, dtype=np.int64))
            ctx = UnlearnContext(job.n_classes, job.seed, spec, recipe, population=pool)
            name, params = job.unlearn
            model = make_method(name, **params).unlearn(model, forget, retain, ctx).model
    return logit_confidence(predict_logits(model, job.X[job.targets]), job.y[job.targets])


def run_jobs(jobs: list, executor: str = "local", workers: int = 2,
             ray_address: Optional[str] = None, progress: Optional[ProgressFn] = None,
             fn: Callable = run_job, task: str = "shadow models") -> list:
    """Run shadow jobs (or any jobs, with ``fn``) on the serial, local process-pool or Ray
    executor (``reference.executors.run_jobs``); results in job order, the same on each."""
    return _run_jobs(jobs, executor, workers, ray_address, progress, fn, task)


def shadow_fingerprint(jobs: list[ShadowJob], kind: str) -> str:
    """SHA-256 of everything that determines a shadow set: the pool's data, the targets, each
    shadow's half and seed, the recipe, the architecture and the unlearned method."""
    first = jobs[0]
    return fingerprint({
        "kind": kind, "data": array_digest(first.X, first.y, first.targets),
        "masks": array_digest(*[j.in_mask for j in jobs]), "seeds": [j.seed for j in jobs],
        "spec": first.spec_json, "recipe": first.recipe, "n_classes": first.n_classes,
        "unlearn": [first.unlearn[0], sorted(first.unlearn[1].items())] if first.unlearn
        else None, "threads": 1,
        **({"unseen": array_digest(first.unseen)} if first.unseen is not None else {})})


def shadow_phis(jobs: list[ShadowJob], kind: str, executor: str = "local", workers: int = 2,
                ray_address: Optional[str] = None, progress: Optional[ProgressFn] = None,
                cache: Optional[EnsembleCache] = None) -> np.ndarray:
    """(shadows, targets) phis of the jobs, from ``cache`` when this exact shadow set was
    trained before (by fingerprint), else trained and stored there."""
    fp = shadow_fingerprint(jobs, kind) if cache is not None and jobs else ""
    if fp:
        hit = cache.load_arrays(fp)
        if hit is not None and hit["phi"].shape[0] == len(jobs):
            report(progress, f"{kind} (cached)", 1, 1)
            return hit["phi"]
    phi = np.array(run_jobs(jobs, executor, workers, ray_address, progress, task=kind))
    if fp:
        cache.save_arrays(fp, {"phi": phi}, {"kind": kind, "shadows": len(jobs)})
    return phi


def make_jobs(spec, recipe, X: np.ndarray, y: np.ndarray, targets: np.ndarray, n: int,
              seed: int, unlearn: Optional[tuple[str, dict]] = None,
              unseen: Optional[np.ndarray] = None) -> tuple[list[ShadowJob], np.ndarray]:
    """``n`` jobs on random halves of the pool; also the IN matrix (shadows x targets).
    ``unseen`` positions are in no shadow's half: the unlearning method's own unseen pool."""
    rng = np.random.default_rng(seed + 104729)
    jobs, ins = [], []
    for i in range(n):
        mask = rng.random(len(y)) < 0.5
        if unseen is not None:
            mask[unseen] = False
        jobs.append(ShadowJob(spec.to_json(), asdict(recipe), seed * 1000 + i, X, y, mask,
                              targets, unlearn, spec.n_classes, unseen))
        ins.append(mask[targets])
    return jobs, np.array(ins)



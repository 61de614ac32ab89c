"""KLOM: KL divergence of margins over training randomness (Georgiev, Rinberg et al.,
"Attribute-to-Delete", arXiv 2410.23232, App. E.1; reference code RoyRin/data-unlearning-bench).

Per sample, the distribution over training seeds of a model's margin z_y - logsumexp_{j != y} z_j
is compared between K unlearned runs (each from its own original, trained with its own seed) and
the K retrains of the reference ensemble: KL(unlearned || oracle) on 20 equal-width bins over the
pooled values clipped to [-100, 100], with a 1e-5 floor on empty oracle bins. Reported per split
(forget, retain sample, test) as mean and 95th percentile, beside its noise floor (one half of the
retrain ensemble against the other, which is conservative: the floor at K/2 models lies above the
floor at K) and beside the original models' value (the do-nothing ceiling). Opt-in
(``--checks klom``): it trains K originals and runs each method K times; K = --reference-seeds.
The bins need many models: with K = 10 the noise floor is about 5.6 nats of at most 11.5, so use
K >= 30 for a decision (the floor falls to about 1.8).
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np
from scipy.stats import entropy

from unlearn_core.attacks.shadows import logit_confidence, run_jobs
from unlearn_core.checks.judge import CheckResult, fmt
from unlearn_core.errors import ConfigError
from unlearn_core.progress import ProgressFn
from unlearn_core.reference.trainer import ModelJob

SPLITS = ("forget", "retain", "test")
MAX_PER_SPLIT = 200


def klom_per_sample(unlearned: np.ndarray, oracle: np.ndarray, bins: int = 20) -> np.ndarray:
    """KLOM of every column: ``unlearned`` and ``oracle`` are (models, samples) margins."""
    out = np.zeros(unlearned.shape[1])
    for j in range(unlearned.shape[1]):
        p_vals = np.clip(unlearned[:, j], -100, 100)
        q_vals = np.clip(oracle[:, j], -100, 100)
        lo, hi = float(min(p_vals.min(), q_vals.min())), float(max(p_vals.max(), q_vals.max()))
        if hi <= lo:
            hi = lo + 1.0
        edges = np.linspace(lo, hi, bins + 1)  # np.histogram: the last bin is closed
        p = np.histogram(p_vals, edges)[0] / len(p_vals)
        q = np.histogram(q_vals, edges)[0] / len(q_vals)
        q = np.where(p > 0, np.maximum(q, 1e-5), q)
        out[j] = float(entropy(p, q))
    return out


@dataclass
class KlomJob(ModelJob):
    """Train one original with ``seed`` on the training split, run each method on it and return
    the margins of the original and of every unlearned model on the evaluation points (``X``,
    ``y``, ``ids``: the whole dataset, taken at the positions below)."""

    forget_pos: np.ndarray
    retain_pos: np.ndarray
    eval_pos: np.ndarray
    methods: list[tuple[str, str, dict]]  # (label, name, params)
    forget_classes: tuple[int, ...]
    parent_pid: int = 0
    # the methods' pool: unseen data a method may use (never trained on, never evaluated)
    pool_pos: Optional[np.ndarray] = None


def run_klom_job(job: KlomJob) -> dict[str, np.ndarray]:
    """Top-level for process pools and Ray."""
    import torch

    from unlearn_core.data.dataset import Samples
    from unlearn_core.methods import UnlearnContext, make_method
    from unlearn_core.models import (
        ModelSpec,
        TrainConfig,
        build_model,
        predict_logits,
        train_epochs,
    )

    if job.parent_pid and os.getpid() != job.parent_pid:
        torch.set_num_threads(1)
    spec = ModelSpec.from_json(job.spec_json)
    recipe = TrainConfig(**job.recipe)

    def take(pos: np.ndarray) -> Samples:
        return Samples(job.X[pos], job.y[pos], job.ids[pos])

    train = take(np.concatenate([job.forget_pos, job.retain_pos]))
    original = train_epochs(build_model(spec, seed=job.seed), train, recipe, job.seed)
    ev = take(job.eval_pos)
    out = {"__original__": logit_confidence(predict_logits(original, ev.X), ev.y)}
    pool = take(job.pool_pos) if job.pool_pos is not None and len(job.pool_pos) else None
    ctx = UnlearnContext(spec.n_classes, job.seed, spec, recipe, job.forget_classes, pool)
    for label, name, params in job.methods:
        model = make_method(name, **params).unlearn(original, take(job.forget_pos),
                                                    take(job.retain_pos), ctx).model
        out[label] = logit_confidence(predict_logits(model, ev.X), ev.y)
    return out


def method_pool_positions(data) -> np.ndarray:
    """Dataset positions of the audit's method pool (``AuditData.method_pool``), refused when
    they meet the training split, the test split or the audit's calibration half."""
    pool = np.asarray(data.splits.population[0::2], dtype=np.int64)
    used = np.concatenate([data.splits.train, data.splits.test, data.splits.population[1::2]])
    if np.intersect1d(pool, used).size:
        raise ConfigError("KLOM: the methods' pool overlaps the training, test or calibration "
                          "data; it must be disjoint")
    return pool


def _summary(values: np.ndarray) -> tuple[float, float]:
    return float(np.mean(values)), float(np.percentile(values, 95))


def klom_results(run, progress: Optional[ProgressFn] = None) -> list[CheckResult]:
    """KLOM of every method of an audit run, judged against the noise floor."""
    res, data = run.result, run.data
    refs = [run.models[e.name] for e in res.references if e.reference_group == "retrain"]
    k = len(refs)
    rng = np.random.default_rng(res.config.seed + 53)
    ds = data.dataset
    pos = {"forget": data.forget_set.forget, "retain": data.forget_set.retain,
           "test": data.splits.test}
    chosen = {s: np.sort(rng.choice(p, min(len(p), MAX_PER_SPLIT), replace=False))
              for s, p in pos.items()}
    eval_pos = np.concatenate([chosen[s] for s in SPLITS])
    bounds = np.cumsum([0] + [len(chosen[s]) for s in SPLITS])
    from unlearn_core.models import predict_logits

    oracle = np.array([logit_confidence(predict_logits(m, ds.X[eval_pos]), ds.y[eval_pos])
                       for m in refs])
    methods = [(e.name, e.method or e.name, dict(e.params)) for e in res.methods]
    spec = run.context.spec
    seeds = [res.config.seed * 7919 + 50021 * (i + 1) for i in range(k)]
    # methods get the audit's method pool (one half of the population split), never the half
    # the audit's checks calibrate on, and never a training or evaluation point of KLOM
    pool_pos = method_pool_positions(data)
    jobs = [KlomJob(spec.to_json(), asdict(res.train_config), s, ds.X, ds.y, ds.ids,
                    data.forget_set.forget, data.forget_set.retain, eval_pos, methods,
                    tuple(data.forget_set.classes), os.getpid(), pool_pos) for s in seeds]
    outs = run_jobs(jobs, res.config.executor, 2, res.config.ray_address, progress,
                    fn=run_klom_job, task="klom models")
    half = k // 2
    results = []
    for label, _, _ in methods:
        unlearned = np.array([o[label] for o in outs])
        originals = np.array([o["__original__"] for o in outs])
        detail = {}
        for i, split in enumerate(SPLITS):
            sl = slice(bounds[i], bounds[i + 1])
            if bounds[i + 1] == bounds[i]:
                continue
            u = klom_per_sample(unlearned[:, sl], oracle[:, sl])
            o = klom_per_sample(originals[:, sl], oracle[:, sl])
            f = klom_per_sample(oracle[:half, sl], oracle[half:, sl])
            for name, vals in (("", u), ("original_", o), ("floor_", f)):
                mean, p95 = _summary(vals)
                detail[f"{name}{split}_mean"], detail[f"{name}{split}_p95"] = mean, p95
            if split == "forget":
                se = float(np.std(u, ddof=1) / math.sqrt(len(u))) if len(u) > 1 else math.nan
                se_f = float(np.std(f, ddof=1) / math.sqrt(len(f))) if len(f) > 1 else 0.0
        figure, floor = detail["forget_mean"], detail["floor_forget_mean"]
        ctrl = detail["original_forget_mean"]
        hi = floor + 1.96 * se_f
        ci_lo, ci_hi = figure - 1.96 * se, figure + 1.96 * se
        powered = ctrl - 1.96 * se_f > hi
        status = "pass" if figure <= hi else ("fail" if ci_lo > hi else "uncertain")
        if not powered and status != "fail":
            status = "no power"
        reason = (f"KLOM on the forget set {fmt(figure)} nats (p95 {fmt(detail['forget_p95'])}) "
                  f"against the noise floor {fmt(floor)} (half the retrains against the other) "
                  f"and the original models' {fmt(ctrl)}, from {k} models per side"
                  + ("" if powered else ": the original is not above the floor, so KLOM cannot "
                     "decide with this many models (raise --reference-seeds)"))
        results.append(CheckResult(
            check="klom", title="KLOM (forget set)", model=label, kind="forgetting",
            status=status, figure=figure, se=se, n=len(chosen["forget"]), ci_low=ci_lo,
            ci_high=ci_hi, band_low=-math.inf, band_high=hi,
            band_source=f"noise floor: {half} retrains against {k - half}", reference_mean=floor,
            reference_sd=math.nan, k=k, control=ctrl, powered=powered,
            power_margin=(ctrl - hi) / max(hi, 1e-9), over_forgetting=False,
            low_resolution=ci_hi - ci_lo > hi, reason=reason, detail=detail))
    return results

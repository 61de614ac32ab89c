"""Originals trained here: K models trained from scratch on the whole training split with a
declared recipe and K seeds, the yardstick a claim audit checks a submitted original against
(does the recipe reproduce it?). Trained through the same executors as the retrain ensemble and
cached the same way (in memory, and on disk by fingerprint of data, split, recipe, architecture
and seeds)."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Optional

from torch import nn

from unlearn_core.audit.data import AuditData
from unlearn_core.models import ModelSpec, TrainConfig
from unlearn_core.progress import ProgressFn, report
from unlearn_core.reference.cache import EnsembleCache, default_cache
from unlearn_core.reference.cache import fingerprint as cache_fingerprint
from unlearn_core.reference.retrains import SMALL_WORK, ReferenceInfo
from unlearn_core.reference.trainer import THREADS_PER_MODEL, train_models

KIND = "original"

_MEMORY: dict[str, list[nn.Module]] = {}


def originals_seeds(seed: int, k: int, avoid: tuple[int, ...] = ()) -> list[int]:
    """K seeds for originals trained here, derived from the audit's seed, never the audit's
    own, a retrain's (``reference_seeds``) or one in ``avoid`` (the claimant's seed)."""
    out, i = [], 0
    while len(out) < k:
        s = seed * 7919 + 1009 * (i + 1) + 503  # between the retrains' seeds, never on one
        i += 1
        if s != seed and s not in avoid:
            out.append(s)
    return out


def fingerprint(data: AuditData, spec: ModelSpec, recipe: TrainConfig, seeds: list[int]) -> str:
    """SHA-256 of what determines the originals: data, split, recipe, architecture, seeds."""
    return cache_fingerprint({"kind": KIND, "data": data.dataset.fingerprint(),
                              "split": data.splits.fingerprint(),
                              "train_n": int(len(data.splits.train)), "spec": spec.to_json(),
                              "recipe": recipe.key(), "seeds": list(seeds),
                              "threads": THREADS_PER_MODEL})


def trained_originals(data: AuditData, spec: ModelSpec, recipe: TrainConfig, seeds: list[int],
                      executor: str = "serial", ray_address: Optional[str] = None,
                      progress: Optional[ProgressFn] = None,
                      cache: Optional[EnsembleCache] = None
                      ) -> tuple[list[nn.Module], ReferenceInfo]:
    """K models trained from scratch on the whole training split with ``recipe``, one per
    seed (cached); returns them and where they came from."""
    fp = fingerprint(data, spec, recipe, seeds)
    cache = cache or default_cache()
    if fp in _MEMORY:
        return _MEMORY[fp], ReferenceInfo(KIND, list(seeds), 0.0, True, fp)
    models = cache.load_models(fp, spec, len(seeds))
    if models is not None:
        _MEMORY[fp] = models
        report(progress, "originals with the declared recipe (cached)", 1, 1)
        return models, ReferenceInfo(KIND, list(seeds), 0.0, True, fp)
    t0 = time.perf_counter()
    train = data.train
    if executor == "local" and len(train) * recipe.epochs * len(seeds) < SMALL_WORK:
        executor = "serial"  # starting worker processes would cost more than it saves
    models = train_models(spec, recipe, train, seeds, executor, ray_address, progress,
                          task="originals with the declared recipe")
    seconds = time.perf_counter() - t0
    _MEMORY[fp] = models
    cache.save_models(fp, models, {"kind": KIND, "seeds": list(seeds),
                                   "dataset": data.dataset.name, "recipe": asdict(recipe),
                                   "spec": spec.to_json()})
    return models, ReferenceInfo(KIND, list(seeds), seconds, False, fp)


def clear_memory() -> None:
    """Forget the originals kept in this process (the disk cache stays)."""
    _MEMORY.clear()

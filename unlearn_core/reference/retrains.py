"""The reference ensemble: K models retrained from scratch on the retain set with K seeds, so the
verdict can judge a method against the spread that retraining itself shows (and not against one
retrain and a hand-set constant). Exact methods get their own counterpart ensemble (SISA against
SISA trained without the samples). Ensembles are cached by fingerprint of data, forget set,
recipe, architecture and seeds: in memory, and on disk for registry models (safetensors, in the
run store's artifact area or ``$UNLEARN_CACHE_DIR``: ``reference.cache``)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Optional

from torch import nn

from unlearn_core.audit.data import AuditData
from unlearn_core.data.dataset import Samples
from unlearn_core.models import ModelSpec, TrainConfig
from unlearn_core.progress import ProgressFn, report
from unlearn_core.reference.cache import EnsembleCache, default_cache
from unlearn_core.reference.cache import fingerprint as cache_fingerprint
from unlearn_core.reference.trainer import THREADS_PER_MODEL, train_models

DEFAULT_REFERENCE_SEEDS = 6  # keeps the default flow interactive; more narrows the bands

SMALL_WORK = 2_000_000  # sample-epochs below which the local pool runs serially

_MEMORY: dict[str, list[nn.Module]] = {}


@dataclass
class ReferenceInfo:
    """Where the band of every check comes from: which models, how many, which seeds."""

    kind: str  # "retrain" or the exact method whose from-scratch training is the counterpart
    seeds: list[int] = field(default_factory=list)
    seconds: float = 0.0  # training time (0 when taken from the cache)
    cached: bool = False
    fingerprint: str = ""
    submitted: list[str] = field(default_factory=list)  # files of a claimant's own retrains
    # the last ``extended`` seeds were added by the sequential rule (``checks.sequential``),
    # and why, in words
    extended: int = 0
    extended_because: str = ""

    @property
    def k(self) -> int:
        return len(self.seeds) or len(self.submitted)


def reference_seeds(seed: int, k: int) -> list[int]:
    """K seeds for the ensemble, derived from the audit's seed and never equal to it (the
    original model trains with the audit's seed; a retrain sharing its initialisation would
    sit closer to it than a genuine independent retrain)."""
    return [seed * 7919 + 1009 * (i + 1) for i in range(k)]


def fingerprint(data: AuditData, spec: ModelSpec, recipe: TrainConfig, seeds: list[int],
                method: Optional[tuple[str, dict]] = None) -> str:
    """SHA-256 of everything that determines the ensemble: data, split, forget set, recipe,
    architecture, seeds (and the exact method whose from-scratch training it is)."""
    parts = {"data": data.dataset.fingerprint(), "split": data.splits.fingerprint(),
             "retain": data.forget_set.fingerprint(),
             "retain_n": int(len(data.forget_set.retain)), "spec": spec.to_json(),
             "recipe": recipe.key(), "seeds": list(seeds),
             "threads": THREADS_PER_MODEL,
             "method": [method[0], sorted(method[1].items())] if method else None}
    return cache_fingerprint(parts)


def clear_memory() -> None:
    """Forget the ensembles kept in this process (the disk cache stays)."""
    _MEMORY.clear()


def reference_ensemble(data: AuditData, spec: ModelSpec, recipe: TrainConfig, seeds: list[int],
                       executor: str = "serial", ray_address: Optional[str] = None,
                       progress: Optional[ProgressFn] = None,
                       method: Optional[tuple[str, dict]] = None,
                       cache: Optional[EnsembleCache] = None
                       ) -> tuple[list[nn.Module], ReferenceInfo]:
    """K models trained from scratch on the retain set (``method``: an exact method's own
    from-scratch training), cached (``cache``: default ``$UNLEARN_CACHE_DIR``); returns the
    models and where they came from."""
    kind = method[0] if method else "retrain"
    return cached_models(fingerprint(data, spec, recipe, seeds, method), kind, f"{kind} ensemble",
                         _MEMORY, cache, data, lambda: data.retain, len(data.forget_set.retain),
                         spec, recipe, seeds, executor, ray_address, progress, method)


def cached_models(fp: str, kind: str, task: str, memory: dict[str, list[nn.Module]],
                  cache: Optional[EnsembleCache], data: AuditData, training: Callable[[], Samples],
                  n_train: int, spec: ModelSpec, recipe: TrainConfig, seeds: list[int],
                  executor: str, ray_address: Optional[str], progress: Optional[ProgressFn],
                  method: Optional[tuple[str, dict]] = None
                  ) -> tuple[list[nn.Module], ReferenceInfo]:
    """The models of fingerprint ``fp``, one per seed: kept in ``memory``, else on disk in
    ``cache`` (default ``$UNLEARN_CACHE_DIR``; never for an exact ``method``'s own training),
    else trained from scratch on ``training()`` (``n_train`` samples; serially when the work is
    small) and kept in both; returns them and where they came from (``kind``). ``task`` names
    the work in progress reports."""
    cache = cache or default_cache()
    if fp in memory:
        return memory[fp], ReferenceInfo(kind, list(seeds), 0.0, True, fp)
    if method is None:
        models = cache.load_models(fp, spec, len(seeds))
        if models is not None:
            memory[fp] = models
            report(progress, f"{task} (cached)", 1, 1)
            return models, ReferenceInfo(kind, list(seeds), 0.0, True, fp)
    t0 = time.perf_counter()
    if executor == "local" and n_train * recipe.epochs * len(seeds) < SMALL_WORK:
        executor = "serial"  # starting worker processes would cost more than it saves
    models = train_models(spec, recipe, training(), seeds, executor, ray_address, progress,
                          method, task=task)
    seconds = time.perf_counter() - t0
    memory[fp] = models
    if method is None:
        cache.save_models(fp, models, {"kind": kind, "seeds": list(seeds),
                                       "dataset": data.dataset.name, "recipe": asdict(recipe),
                                       "spec": spec.to_json()})
    return models, ReferenceInfo(kind, list(seeds), seconds, False, fp)

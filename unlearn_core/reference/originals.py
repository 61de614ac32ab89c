"""Originals trained here: K models trained from scratch on the whole training split with a
declared recipe and K seeds, the yardstick a claim audit checks a submitted original against
(does the recipe reproduce it?). Trained through the same executors as the retrain ensemble and
cached the same way (in memory, and on disk by fingerprint of data, split, recipe, architecture
and seeds)."""

from __future__ import annotations

from typing import Optional

from torch import nn

from unlearn_core.audit.data import AuditData
from unlearn_core.models import ModelSpec, TrainConfig
from unlearn_core.progress import ProgressFn
from unlearn_core.reference.cache import EnsembleCache
from unlearn_core.reference.cache import fingerprint as cache_fingerprint
from unlearn_core.reference.retrains import ReferenceInfo, cached_models
from unlearn_core.reference.trainer import THREADS_PER_MODEL

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
    return cached_models(fingerprint(data, spec, recipe, seeds), KIND,
                         "originals with the declared recipe", _MEMORY, cache, data,
                         lambda: data.train, len(data.splits.train), spec, recipe, seeds,
                         executor, ray_address, progress)


def clear_memory() -> None:
    """Forget the originals kept in this process (the disk cache stays)."""
    _MEMORY.clear()

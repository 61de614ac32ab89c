"""A cache of trained ensembles across audits, keyed by fingerprint: reference ensembles (weights
as safetensors) and shadow sets (their per-target statistics as ``.npz``, read with
``allow_pickle=False``). A fingerprint is the SHA-256 of everything that determines the
entry (data, split, forget set, recipe, architecture, seeds, and for shadows the pool, targets
and audited method), so a changed recipe, seed or forget set misses.

The audit uses the run store's artifact area (``RunStore.ensemble_cache()``: ``cache/`` next to
the runs' artifact folders) when it records into a store (the CLI: ``use_cache``), else
``$UNLEARN_CACHE_DIR``. Entries
are written to a temporary folder and renamed into place, so a killed run leaves none half
written; a damaged entry is a miss (retrained), never trusted."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections import Counter
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np
from torch import nn

from unlearn_core.models import ModelSpec, load_model, save_model


def fingerprint(parts: dict[str, Any]) -> str:
    """SHA-256 of ``parts`` as canonical JSON."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def array_digest(*arrays: np.ndarray) -> str:
    """SHA-256 of arrays' dtypes, shapes and bytes (the data a shadow set was trained on)."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape};".encode())
        h.update(a.tobytes())
    return h.hexdigest()


class EnsembleCache:
    """Trained ensembles under ``folder``, one sub-folder per fingerprint."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.stats: Counter = Counter()  # hits and misses by kind, for tests and reports

    def _entry(self, fp: str) -> Path:
        return self.folder / fp[:40]

    def _manifest_ok(self, fp: str, kind: str) -> bool:
        try:
            about = json.loads((self._entry(fp) / "manifest.json").read_text())
        except (OSError, ValueError):
            return False
        return about.get("fingerprint") == fp and about.get("kind") == kind

    def _write(self, fp: str, kind: str, about: dict, write) -> None:
        """Write an entry atomically (a temporary folder renamed into place). An entry already
        there is renamed aside, not deleted, before the new one takes its place, so a reader in
        another process finds it missing only between two renames, not while it is deleted."""
        final = self._entry(fp)
        tmp = self.folder / f".tmp-{uuid.uuid4().hex}"
        old = self.folder / f".old-{uuid.uuid4().hex}"
        try:
            tmp.mkdir(parents=True)
            write(tmp)
            (tmp / "manifest.json").write_text(json.dumps(
                {"fingerprint": fp, "kind": kind, "about": about}, sort_keys=True,
                default=str, indent=1))
            if final.exists():
                os.replace(final, old)
            os.replace(tmp, final)
        except OSError:
            pass  # a read-only or full cache costs time, not correctness
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(old, ignore_errors=True)

    # -- models ----------------------------------------------------------------------------
    def load_models(self, fp: str, spec: ModelSpec, k: int) -> Optional[list[nn.Module]]:
        """The K models stored under ``fp``, or None (a miss)."""
        folder = self._entry(fp)
        paths = [folder / f"model_{i}.safetensors" for i in range(k)]
        if not self._manifest_ok(fp, "models") or not all(p.exists() for p in paths):
            self.stats["models_miss"] += 1
            return None
        try:
            models = [load_model(p, spec).eval() for p in paths]
        except Exception:  # damaged: retrained, never trusted
            self.stats["models_miss"] += 1
            return None
        self.stats["models_hit"] += 1
        return models

    def save_models(self, fp: str, models: list[nn.Module], about: dict) -> None:
        """Store models that have a registry spec (others are not cached)."""
        if not all(hasattr(m, "spec") for m in models):
            return

        def write(folder: Path) -> None:
            for i, m in enumerate(models):
                save_model(m, folder / f"model_{i}")

        self._write(fp, "models", about, write)

    # -- arrays (shadow sets) --------------------------------------------------------------
    def load_arrays(self, fp: str) -> Optional[dict[str, np.ndarray]]:
        """The arrays stored under ``fp``, or None (a miss)."""
        path = self._entry(fp) / "arrays.npz"
        if not self._manifest_ok(fp, "arrays") or not path.exists():
            self.stats["arrays_miss"] += 1
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except Exception:
            self.stats["arrays_miss"] += 1
            return None
        self.stats["arrays_hit"] += 1
        return arrays

    def save_arrays(self, fp: str, arrays: dict[str, np.ndarray], about: dict) -> None:
        self._write(fp, "arrays", about, lambda folder: np.savez(folder / "arrays.npz",
                                                                 **arrays))


_ACTIVE: ContextVar[Optional[EnsembleCache]] = ContextVar("ensemble_cache", default=None)


@contextmanager
def use_cache(cache: Optional[EnsembleCache]) -> Iterator[None]:
    """Audits in the block keep their ensembles in ``cache`` (None: the default)."""
    token = _ACTIVE.set(cache)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def default_cache() -> EnsembleCache:
    """The cache of a ``use_cache`` block, else the one outside any run store:
    ``$UNLEARN_CACHE_DIR/references``."""
    active = _ACTIVE.get()
    if active is not None:
        return active
    from unlearn_core.data.generated import default_cache_dir

    return EnsembleCache(default_cache_dir() / "references")

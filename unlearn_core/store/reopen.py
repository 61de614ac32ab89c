"""Reopen a recorded audit as a live run: its result from the record, every model the store
kept (safetensors weights + spec, checked against the hash the audit recorded) and the data
set it ran on, with the same splits and forget set, so that every view of the app draws again
after a reload or in a new tab.

The data set comes from the first of: a data set the caller holds (the session's), the copy
kept by ``keep_dataset`` (uploads: kept once per fingerprint under the store's artifact
folder, ``datasets/``), or the config's own source (a built-in, or a file path that still
exists). Each is taken only when its fingerprint is the recorded one. Models the store does not
keep (a TorchScript or ``.pt2`` baseline has no registry spec) are listed in
``missing_models``: the views that need them say so.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

import numpy as np
from torch import nn

from unlearn_core.audit.data import AuditData
from unlearn_core.audit.run import AuditResult, AuditRun
from unlearn_core.data import Dataset, load_dataset, make_splits
from unlearn_core.data.forget import resolve_forget
from unlearn_core.errors import ConfigError, DataError, UnlearnError
from unlearn_core.methods import UnlearnContext
from unlearn_core.models import ModelSpec, load_model, model_hash
from unlearn_core.store.db import RunStore

DATASETS = "datasets"  # the sub-folder of the artifact root holding kept data sets
_WEIGHTS, _SPEC = ".safetensors", ".json"


@dataclass
class ReopenedRun:
    """A stored audit made live again: ``run`` as ``run_audit`` returned it, less the models
    the store did not keep (``missing_models``); ``notes`` say what was left out and why."""

    run_id: str
    run: AuditRun
    missing_models: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def dataset_path(store: RunStore, fingerprint: str) -> Path:
    """Where ``keep_dataset`` keeps the data set of this fingerprint."""
    if not fingerprint or not all(c in "0123456789abcdef" for c in fingerprint):
        raise DataError(f"not a data-set fingerprint: {fingerprint!r}")
    return store.artifact_root / DATASETS / f"{fingerprint}.npz"


def keep_dataset(store: RunStore, dataset: Dataset) -> Path:
    """Keep a copy of ``dataset`` (arrays only, no pickles) by its fingerprint in the store's
    artifact folder, once, written atomically; returns its path. An uploaded file has no path
    to load again: this is what lets its audits reopen."""
    path = dataset_path(store, dataset.fingerprint())
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.part.npz")
    try:
        np.savez_compressed(tmp, X=dataset.X, y=dataset.y, ids=dataset.ids,
                            class_names=np.array(dataset.class_names, dtype=str),
                            feature_names=np.array(dataset.feature_names, dtype=str),
                            name=np.array(dataset.name), kind=np.array(dataset.kind))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_kept_dataset(path: Path) -> Dataset:
    """A data set written by ``keep_dataset`` (``allow_pickle=False``: nothing in it runs)."""
    with np.load(path, allow_pickle=False) as z:
        return Dataset(name=str(z["name"]), X=z["X"], y=z["y"], ids=z["ids"],
                       class_names=[str(c) for c in z["class_names"]], kind=str(z["kind"]),
                       feature_names=[str(c) for c in z["feature_names"]])


def find_dataset(store: RunStore, result: AuditResult,
                 candidates: Iterable[Optional[Dataset]] = ()) -> Optional[Dataset]:
    """The data set the audit ran on (its fingerprint the recorded one), or None when none of
    the candidates, the kept copy or the config's source has it."""
    want = result.dataset_fingerprint
    for ds in candidates:
        if ds is not None and ds.fingerprint() == want:
            return ds
    with contextlib.suppress(DataError, OSError, ValueError, KeyError):
        path = dataset_path(store, want)
        if path.exists():
            ds = read_kept_dataset(path)
            if ds.fingerprint() == want:
                return ds
    cfg = result.config
    with contextlib.suppress(UnlearnError, OSError, ValueError):
        ds = load_dataset(cfg.dataset, label_column=cfg.label_column, seed=cfg.seed,
                          id_column=cfg.id_column, drop_columns=cfg.drop_columns)
        if ds.fingerprint() == want:
            return ds
    return None


def stored_models(store: RunStore, run_id: str, result: AuditResult) -> tuple[dict, list[str]]:
    """The models kept with a run (label -> model), each loaded from its safetensors weights
    and spec and checked against the hash its evaluation recorded; notes on those left out."""
    names = {a.name for a in store.artifacts(run_id, restore=False)}
    recorded = {e.name: e.model_hash for e in
                [*result.evaluations(), *result.references, *result.controls]}
    models: dict[str, nn.Module] = {}
    notes = []
    for name in sorted(names):
        label = name[:-len(_WEIGHTS)]
        if not name.endswith(_WEIGHTS) or label + _SPEC not in names:
            continue
        weights = store.artifact_bytes(run_id, name)
        spec = store.artifact_bytes(run_id, label + _SPEC)
        if weights is None or spec is None:
            notes.append(f"the weights of {label} are missing from the store")
            continue
        try:
            model = load_model(weights, spec)
        except UnlearnError as err:
            notes.append(f"the stored weights of {label} cannot be loaded ({err})")
            continue
        if recorded.get(label) and model_hash(model) != recorded[label]:
            notes.append(f"the stored weights of {label} differ from the audited model: not used")
            continue
        models[label] = model.eval()
    return models, notes


def reopen_run(store: RunStore, run_id: str,
               candidates: Iterable[Optional[Dataset]] = ()) -> ReopenedRun:
    """The recorded run ``run_id`` (an id or unique prefix) as a live ``AuditRun``: result,
    data (splits and forget set rebuilt and checked against the recorded fingerprints) and
    the stored models. A ``ConfigError`` / ``DataError`` of one line when the record cannot be
    read by this version or its data set is not to be found."""
    full = store.resolve_id(run_id)
    stored = store.load(full)
    if stored.result is None and stored.data.get("kind") == "text":
        raise ConfigError(f"run {full[:12]} is a language-model audit: the Audit page opens "
                          "classifier audits; `runs show` shows it and `verify` re-checks its "
                          "report")
    if stored.result is None:
        raise ConfigError(f"run {full[:12]} cannot be reopened by this version: "
                          f"{stored.problem}")
    result = stored.result
    cfg = result.config
    dataset = find_dataset(store, result, candidates)
    if dataset is None:
        raise DataError(f"run {full[:12]}: its data set {result.dataset_name!r} (fingerprint "
                        f"{result.dataset_fingerprint[:12]}) is not on this machine: load it on "
                        "the Setup page, then open the run again")
    splits = make_splits(dataset, cfg.seed, cfg.test_fraction, cfg.population_fraction)
    forget_set = resolve_forget(dataset, splits, cfg.forget, cfg.seed)
    for what, now, then in (("splits", splits.fingerprint(), result.splits_fingerprint),
                            ("forget set", forget_set.fingerprint(), result.forget_fingerprint)):
        if then and now != then:
            raise DataError(f"run {full[:12]}: its {what} cannot be rebuilt as audited (this "
                            "version splits or resolves the request differently)")
    models, notes = stored_models(store, full, result)
    shown = [e.name for e in result.evaluations()]
    missing = [n for n in shown if n not in models]
    if missing:
        notes.append(f"the store does not keep the live model(s) {', '.join(missing)} (only "
                     "registry models with a spec are kept): views that need them are not shown")
    baseline = models.get("baseline")
    spec = getattr(baseline, "spec", None) or ModelSpec(cfg.model, dataset.sample_shape,
                                                         dataset.n_classes)
    data = AuditData(dataset, splits, forget_set)
    ctx = UnlearnContext(n_classes=dataset.n_classes, seed=cfg.seed, spec=spec,
                         train_config=result.train_config, forget_classes=forget_set.classes,
                         population=data.method_pool)
    return ReopenedRun(full, AuditRun(result, data, models, ctx), missing, notes)

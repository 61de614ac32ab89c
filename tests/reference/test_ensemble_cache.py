"""Caching across audits (unlearn_core/ensemble_cache.py): the reference ensemble and the shadow
sets (LiRA, RMIA, U-LiRA) are stored by fingerprint in the run store's artifact area; a second
audit of the same request trains none of them and gives identical figures, and a changed
recipe, seed or forget set misses."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from unlearn_core import AuditConfig, MethodSpec, run_audit
from unlearn_core.models import TrainConfig
from unlearn_core.reference import retrains as reference
from unlearn_core.reference.cache import EnsembleCache
from unlearn_core.reference.executors import JOBS_RUN
from unlearn_core.store.db import RunStore

ENSEMBLE_TASKS = ("retrain ensemble", "lira shadows", "rmia references", "u-lira shadows")


def _config(**changes) -> AuditConfig:
    cfg = AuditConfig(dataset="wine", model="logreg", forget="class:1", seed=0,
                      executor="serial", reference_seeds=2, shadows=4,
                      extend_references=0,  # the counts below are of the cache's trainings
                      attacks=["lira", "rmia", "ulira"],
                      train=TrainConfig(epochs=8, lr=2e-2),
                      methods=[MethodSpec("finetune", {"epochs": "1"})])
    return dataclasses.replace(cfg, **changes)


def _trained(cache: EnsembleCache, cfg: AuditConfig):
    """Run an audit with a cold process (no ensemble kept in memory); return the result and
    how many models each ensemble task trained."""
    reference.clear_memory()
    before = {t: JOBS_RUN[t] for t in ENSEMBLE_TASKS}
    result = run_audit(cfg, cache=cache).result
    return result, {t: JOBS_RUN[t] - before[t] for t in ENSEMBLE_TASKS}


def _figures(result) -> dict:
    return {"hashes": [e.model_hash for e in result.references],
            "attacks": [(s.attack, s.model, s.auc) for s in result.attack_summaries],
            "ulira": [(u.method, u.auc) for u in result.ulira],
            "checks": [(m.check, m.model, m.figure) for m in result.measurements],
            "verdicts": [(v.method, v.status) for v in result.verdicts]}


@pytest.fixture(scope="module")
def store_cache(tmp_path_factory):
    store = RunStore(data_dir=tmp_path_factory.mktemp("runs"))
    return store.ensemble_cache()


@pytest.fixture(scope="module")
def first(store_cache):
    return _trained(store_cache, _config())


def test_cache_lives_in_the_store_artifact_area_and_survives_the_orphan_sweep(store_cache,
                                                                             first):
    store = RunStore(data_dir=store_cache.folder.parents[1])
    assert store_cache.folder == store.artifact_root / "cache"
    store.cleanup_orphans(min_age_s=0)
    entries = [p for p in store_cache.folder.iterdir() if not p.name.startswith(".")]
    assert len(entries) == 4  # retrain ensemble, LiRA, RMIA, U-LiRA shadow sets
    _, trained = first
    assert trained == {"retrain ensemble": 2, "lira shadows": 4, "rmia references": 2,
                       "u-lira shadows": 4}


def test_second_audit_trains_no_ensemble_and_gives_identical_figures(store_cache, first):
    result1, _ = first
    result2, trained = _trained(store_cache, _config())
    assert trained == dict.fromkeys(ENSEMBLE_TASKS, 0)
    assert all(info.cached for info in result2.ensembles)
    np.testing.assert_equal(_figures(result2), _figures(result1))
    assert store_cache.stats["models_hit"] >= 1 and store_cache.stats["arrays_hit"] >= 3


@pytest.mark.parametrize("change", [
    {"seed": 1},
    {"forget": "class:2"},
    {"train": TrainConfig(epochs=9, lr=2e-2)},
])
def test_changed_recipe_seed_or_forget_set_misses(store_cache, first, change):
    _, trained = _trained(store_cache, _config(**change))
    assert trained["retrain ensemble"] == 2
    assert trained["lira shadows"] == 4 and trained["u-lira shadows"] == 4
    if "forget" not in change:  # RMIA's references never see the forget set's samples
        assert trained["rmia references"] == 2


def test_damaged_entry_is_retrained_not_trusted(tmp_path):
    cache = EnsembleCache(tmp_path / "cache")
    cfg = _config(attacks=[], reference_seeds=2)
    _, trained = _trained(cache, cfg)
    assert trained["retrain ensemble"] == 2
    (entry,) = [p for p in cache.folder.iterdir() if not p.name.startswith(".")]
    (entry / "model_0.safetensors").write_bytes(b"not safetensors")
    _, trained = _trained(cache, cfg)
    assert trained["retrain ensemble"] == 2
    (entry / "manifest.json").write_text('{"fingerprint": "someone else", "kind": "models"}')
    _, trained = _trained(cache, cfg)
    assert trained["retrain ensemble"] == 2


def test_cli_audits_reuse_the_store_cache(tmp_path, capsys):
    """Two command-line audits recorded into one store: the second trains no retrain."""
    from unlearn_core.cli.main import main

    args = ["audit", "--dataset", "wine", "--model", "logreg", "--forget", "class:2",
            "--method", "finetune:epochs=1", "--epochs", "3", "--reference-seeds", "2",
            "--executor", "serial", "--quiet", "--data-dir", str(tmp_path)]
    counts = []
    for _ in range(2):
        reference.clear_memory()
        before = JOBS_RUN["retrain ensemble"]
        assert main(args) == 0
        counts.append(JOBS_RUN["retrain ensemble"] - before)
    assert counts == [2, 0]
    entries = list((tmp_path / "artifacts" / "cache").iterdir())
    assert len(entries) == 1 and (entries[0] / "manifest.json").exists()
    capsys.readouterr()


def test_app_audits_keep_their_ensemble_in_the_store(tmp_path, monkeypatch):
    """The Unlearn page records into the app's run store and keeps the retrain ensemble in
    that store's artifact area."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("UNLEARN_DATA_DIR", str(tmp_path))
    app = str(Path(__file__).resolve().parents[2] / "app.py")
    at = AppTest.from_file(app, default_timeout=300)
    at.run()
    at.selectbox(key="setup_dataset").set_value("wine")
    at.selectbox(key="setup_arch").set_value("logreg").run()
    at.button(key="setup_go").click().run()
    at.switch_page("pages/forget.py").run()
    at.multiselect(key="forget_classes").select(1).run()
    at.button(key="forget_classes_go").click().run()
    at.switch_page("pages/unlearn.py").run()
    reference.clear_memory()
    before = JOBS_RUN["retrain ensemble"]
    at.button(key="unlearn_go").click().run()
    assert not at.exception and not at.error
    assert JOBS_RUN["retrain ensemble"] - before == 6  # the default reference ensemble
    entries = [p for p in (tmp_path / "artifacts" / "cache").iterdir()
               if not p.name.startswith(".")]
    assert len(entries) == 1

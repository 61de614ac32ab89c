"""The text model cache: a second audit of the same data, size, recipe and seed trains nothing
(from memory or from the safetensors on disk) and gives the same numbers; anything that changes
the weights misses; a damaged entry is retrained."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import unlearn_core.text.audit as text_audit
import unlearn_core.text.methods as text_methods
from unlearn_core.text.audit import TextAuditConfig, TextMethodSpec, run_text_audit
from unlearn_core.text.cache import ModelCache
from unlearn_core.text.facts import FactSetConfig
from unlearn_core.text.lm import LMTrainConfig, TinyGPTConfig

# the rule off: the tests count trainings
CFG = TextAuditConfig(forget="random:1", seed=3, retrain_seeds=2, extend_references=0,
                      facts=FactSetConfig(n_people=6, n_holdout=4, n_attributes=2),
                      model=TinyGPTConfig(n_embd=32), train=LMTrainConfig(epochs=8),
                      methods=[TextMethodSpec("gradient_ascent", {"steps": 2})])


@pytest.fixture()
def trainings(monkeypatch):
    """Counts every call of ``train_lm`` (the original's training and each retrain's)."""
    calls: list[int] = []
    real = text_audit.train_lm

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(text_audit, "train_lm", counting)
    monkeypatch.setattr(text_methods, "train_lm", counting)
    return calls


def _hashes(result) -> dict[str, str]:
    return {e.name: e.model_hash for e in [result.original, *result.retrains, *result.methods]}


def test_second_audit_trains_nothing(tmp_path, trainings):
    first_cache = ModelCache(tmp_path / "cache")
    first = run_text_audit(CFG, cache=first_cache).result
    assert len(trainings) == 3 and first_cache.trained == 3 and first_cache.hits == 0
    assert not first.original.cached and not any(r.cached for r in first.retrains)
    assert len(list((tmp_path / "cache").glob("*/model.safetensors"))) == 3

    again = run_text_audit(CFG, cache=first_cache).result  # same process: from memory
    disk = ModelCache(tmp_path / "cache")  # a new process: from the safetensors on disk
    third = run_text_audit(CFG, cache=disk).result
    assert len(trainings) == 3  # nothing trained after the first audit
    assert disk.trained == 0 and disk.hits == 3
    for r in (again, third):
        assert r.original.cached and all(x.cached for x in r.retrains)
        assert _hashes(r) == _hashes(first)  # bit-identical weights, methods included
        assert np.array_equal(r.methods[0].forget.mean_nll, first.methods[0].forget.mean_nll)
        # the recorded training time is kept, so the speed-up stays meaningful
        assert r.retrain.seconds == first.retrain.seconds > 0
    assert [v.status for v in third.verdicts] == [v.status for v in first.verdicts]


def test_what_changes_the_weights_misses_the_cache(tmp_path, trainings):
    cache = ModelCache(tmp_path / "cache")
    run_text_audit(CFG, cache=cache)
    n = len(trainings)
    run_text_audit(dataclasses.replace(CFG, train=LMTrainConfig(epochs=9)), cache=cache)
    assert len(trainings) == n + 3  # another recipe: original and both retrains
    run_text_audit(dataclasses.replace(CFG, retrain_seeds=3), cache=cache)
    assert len(trainings) == n + 4  # only the new retrain seed trains
    run_text_audit(dataclasses.replace(CFG, forget="random:2"), cache=cache)
    assert len(trainings) == n + 6  # same original, other retain set: two retrains


def test_damaged_entries_are_retrained_and_disabled_cache_always_trains(tmp_path, trainings):
    run_text_audit(CFG, cache=ModelCache(tmp_path / "cache"))
    for f in (tmp_path / "cache").glob("*/model.safetensors"):
        f.write_bytes(b"not safetensors")
    fresh = ModelCache(tmp_path / "cache")
    run_text_audit(CFG, cache=fresh)
    assert fresh.trained == 3 and fresh.hits == 0
    off = ModelCache(tmp_path / "cache", enabled=False)
    before = len(trainings)
    run_text_audit(CFG, cache=off)
    assert len(trainings) == before + 3 and off.hits == 0


def test_the_estimate_scales_the_originals_recorded_time_to_the_retrains(tmp_path):
    """``base_train_seconds`` reads the original's training time from the cache (None before
    it is trained, and for the user's own folder); ``estimate_text_audit`` scales it by the kept
    items' share per retrain and says what the sequential rule may add."""
    from unlearn_core.text.audit import (
        base_train_seconds,
        estimate_text_audit,
        load_items,
        trained_base,
        trained_items,
    )

    cache = ModelCache(tmp_path / "cache")
    items = load_items(CFG)
    assert base_train_seconds(CFG, items, cache) is None
    trained_base(CFG, items, trained_items(items), cache=cache)
    recorded = base_train_seconds(CFG, items, ModelCache(tmp_path / "cache"))  # from disk
    assert recorded is not None and recorded > 0
    assert base_train_seconds(dataclasses.replace(CFG, model_path=str(tmp_path)), items,
                              cache) is None
    seconds, text = estimate_text_audit(40.0, 200, 150, 5, 4)
    assert seconds == 150.0  # 5 retrains of 40 s x 150 / 200
    assert text.startswith("About 2 min to train 5 retrains (about 30 s each")
    assert text.endswith("up to 2 min more when a verdict is borderline (4 more retrains).")
    assert "borderline" not in estimate_text_audit(40.0, 200, 150, 5, 0)[1]

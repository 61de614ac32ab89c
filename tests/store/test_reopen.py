"""A recorded audit reopens as a live run (issue 22: the app's ``?run=<id>``): the same result,
the same models and the data set it ran on; an upload's data from the copy kept beside the
store; models the store lacks or that differ from the audited ones are left out and said."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy import delete, update

from unlearn_core.errors import DataError
from unlearn_core.models import predict_proba
from unlearn_core.store.db import RunStore
from unlearn_core.store.reopen import keep_dataset, reopen_run
from unlearn_core.store.schema import artifacts_table, runs_table


@pytest.fixture()
def recorded(tmp_path, small_run):
    store = RunStore(data_dir=tmp_path)
    return store, store.record(small_run)


def test_a_recorded_run_reopens_with_its_result_models_and_data(recorded, small_run):
    store, rid = recorded
    again = reopen_run(store, rid[:10])  # a unique prefix, as the address may carry
    assert again.run_id == rid and not again.missing_models and not again.notes
    run, old = again.run, small_run
    assert again.run.result.to_dict() == old.result.to_dict()
    assert [v.status for v in run.result.verdicts] == [v.status for v in old.result.verdicts]
    assert run.data.dataset.fingerprint() == old.data.dataset.fingerprint()
    assert np.array_equal(run.data.forget_set.forget, old.data.forget_set.forget)
    assert np.array_equal(run.data.splits.test, old.data.splits.test)
    assert set(run.models) == set(old.models)
    X = old.data.test.X
    for name, model in old.models.items():
        assert np.allclose(predict_proba(run.models[name], X), predict_proba(model, X)), name
    assert run.context.n_classes == old.context.n_classes
    assert run.context.population.ids.tolist() == old.data.method_pool.ids.tolist()


def _rename_dataset(store: RunStore, rid: str, name: str) -> None:
    """Make the record say its data came from an uploaded file that is not on disk."""
    data = dict(store.load(rid).data)
    data["config"] = dict(data["config"], dataset=name)
    with store.engine.begin() as conn:
        conn.execute(update(runs_table).where(runs_table.c.id == rid)
                     .values(result_json=json.dumps(data)))


def test_an_uploaded_data_set_reopens_from_its_kept_copy(recorded, small_run):
    store, rid = recorded
    _rename_dataset(store, rid, "uploaded.csv")
    with pytest.raises(DataError, match="its data set 'wine' .* is not on this machine"):
        reopen_run(store, rid)
    held = small_run.data.dataset
    assert reopen_run(store, rid, candidates=[None, held]).run.data.dataset is held
    path = keep_dataset(store, held)
    assert keep_dataset(store, held) == path  # once per fingerprint
    again = reopen_run(store, rid).run.data.dataset
    assert again is not held and again.fingerprint() == held.fingerprint()
    assert again.class_names == held.class_names and again.kind == held.kind


def test_models_the_store_lacks_or_that_differ_are_left_out_and_said(recorded):
    store, rid = recorded
    blob = store.artifact_bytes(rid, "retrain.safetensors")
    with store.engine.begin() as conn:
        conn.execute(delete(artifacts_table).where(
            (artifacts_table.c.run_id == rid) & artifacts_table.c.name.in_(
                ["baseline.safetensors", "baseline.json"])))
        conn.execute(update(artifacts_table).where(
            (artifacts_table.c.run_id == rid)
            & (artifacts_table.c.name == "finetune.safetensors")).values(content=blob))
    again = reopen_run(store, rid)
    assert "baseline" not in again.run.models and "finetune" not in again.run.models
    assert again.missing_models == ["baseline", "finetune"]
    assert any("finetune differ from the audited model" in n for n in again.notes)
    assert any("does not keep the live model(s) baseline, finetune" in n for n in again.notes)
    assert "random_label" in again.run.models  # the others still open

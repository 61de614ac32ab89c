"""The run store on both back-ends (SQLite and a real PostgreSQL server): records, projects,
artifacts carried by the database, integrity checks, orphan sweeping, defensive summaries."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import text, update

from tests.store.test_store_pg_server import pg_server, pg_url, store_url  # noqa: F401
from unlearn_core.cli.main import main
from unlearn_core.errors import ConfigError
from unlearn_core.store.db import (
    RunStore,
    overall_verdict,
    sha256_file,
    summary_values,
)
from unlearn_core.store.schema import SCHEMA_VERSION, runs_table


def test_record_list_and_read_back(store_url, tmp_path, small_run):  # noqa: F811
    store = RunStore(store_url, tmp_path / "data")
    assert store.migrated_from == 0  # created here
    run_id = store.record(small_run)
    [summary] = store.list_runs()
    assert (summary.id, summary.project, summary.record_format) == (run_id, "default", 2)
    assert summary.dataset == "wine" and summary.methods == "finetune,random_label"
    assert summary.verdict in ("pass", "fail", "inconclusive", "uncertain")
    assert store.list_runs(method="finetune") and not store.list_runs(method="fine")
    assert not store.list_runs(dataset="digits")
    back = store.get(run_id[:8])
    assert back.forget_fingerprint == small_run.result.forget_fingerprint
    assert back.methods[0].accuracy.forget == small_run.result.methods[0].accuracy.forget
    arts = {a.name: a for a in store.artifacts(run_id)}
    assert {"baseline.safetensors", "retrain.safetensors", "finetune.safetensors",
            "scores.npz"} <= set(arts)
    for a in arts.values():
        assert sha256_file(Path(a.path)) == a.sha256
        assert Path(a.path).is_relative_to(store.artifact_root)
    assert ("finetune", "forget_acc") in {(m, k) for _, m, k, _ in store.metrics([run_id])}
    check = store.check(run_id)
    assert check.ok and "result JSON unchanged" in check.notes


def test_projects_scope_listing_and_lookup(store_url, tmp_path, small_run):  # noqa: F811
    alpha = RunStore(store_url, tmp_path / "a", project="alpha")
    beta = RunStore(store_url, tmp_path / "a", project="beta")
    a_id, b_id = alpha.record(small_run), beta.record(small_run)
    assert [r.id for r in alpha.list_runs()] == [a_id]
    assert [r.id for r in beta.list_runs()] == [b_id]
    assert {r.id for r in alpha.list_runs(all_projects=True)} == {a_id, b_id}
    assert alpha.projects() == [("alpha", 1), ("beta", 1)]
    with pytest.raises(ConfigError, match="in project 'beta'"):
        alpha.get(b_id)
    assert RunStore(store_url, tmp_path / "a").list_runs() == []  # "default" is empty
    with pytest.raises(ConfigError, match="project name"):
        RunStore(store_url, tmp_path / "a", project="../etc")


def test_artifacts_travel_in_the_database(store_url, tmp_path, small_run):  # noqa: F811
    """A teammate on another machine (another data folder) gets the artifacts from the
    database, byte for byte."""
    laptop = RunStore(store_url, tmp_path / "laptop")
    run_id = laptop.record(small_run)
    other = RunStore(store_url, tmp_path / "other")
    assert not (other.artifact_root / run_id).exists()
    arts = other.artifacts(run_id)
    assert arts and all(Path(a.path).is_relative_to(other.artifact_root) for a in arts)
    assert all(sha256_file(Path(a.path)) == a.sha256 for a in arts)
    assert other.check(run_id).ok


def test_check_finds_an_edited_result_and_a_changed_artifact(store_url, tmp_path,  # noqa: F811
                                                             small_run):
    store = RunStore(store_url, tmp_path / "d")
    run_id = store.record(small_run)
    weights = next(Path(a.path) for a in store.artifacts(run_id) if a.kind == "weights")
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    with store.engine.begin() as conn:
        conn.execute(update(runs_table).where(runs_table.c.id == run_id).values(
            result_json=text("replace(result_json, '\"wine\"', '\"wind\"')")))
    check = store.check(run_id)
    assert not check.ok
    assert any("result JSON was changed" in d for d in check.differences)
    assert any(f"artifact {weights.name} changed" in d for d in check.differences)
    assert main(["runs", "verify", run_id, "--db", store_url,
                 "--data-dir", str(tmp_path / "d")]) == 1


def test_crash_before_commit_leaves_nothing(store_url, tmp_path, small_run):  # noqa: F811
    store = RunStore(store_url, tmp_path / "d")
    with pytest.raises(RuntimeError):
        store.record(small_run, _fail_before_commit=True)
    assert store.list_runs(all_projects=True) == []
    assert list(store.artifact_root.iterdir()) == []


def test_orphans_are_swept_only_when_old_and_shaped_like_runs(tmp_path, small_run):
    store = RunStore(data_dir=tmp_path)
    kept_id = store.record(small_run)
    old_tmp = store.artifact_root / f".tmp-{uuid.uuid4().hex}"
    old_orphan = store.artifact_root / uuid.uuid4().hex
    young = store.artifact_root / f".tmp-{uuid.uuid4().hex}"  # another process writing now
    unrelated = store.artifact_root / "notes"
    for folder in (old_tmp, old_orphan, young, unrelated):
        folder.mkdir()
        (folder / "f").write_text("x")
    hour_ago = time.time() - 3600
    for folder in (old_tmp, old_orphan, unrelated, store.artifact_root / kept_id):
        os.utime(folder, (hour_ago, hour_ago))
    RunStore(data_dir=tmp_path)  # opening sweeps
    assert not old_tmp.exists() and not old_orphan.exists()
    assert young.exists() and unrelated.exists() and (store.artifact_root / kept_id).exists()
    assert store.check(kept_id).ok


def test_other_databases_keep_their_own_artifact_folders(tmp_path, small_run):
    """The default database and another one sharing a data folder never sweep each other."""
    default = RunStore(data_dir=tmp_path)
    other = RunStore(f"sqlite:///{tmp_path / 'other.sqlite'}", tmp_path)
    assert other.artifact_root != default.artifact_root
    run_id = other.record(small_run)
    old = time.time() - 3600
    os.utime(other.artifact_root / run_id, (old, old))
    default.cleanup_orphans()
    assert other.check(run_id).ok


def _result_like(**fields) -> SimpleNamespace:
    data = {k: v for k, v in fields.items()}
    return SimpleNamespace(to_dict=lambda: data, **fields)


def test_a_result_missing_fields_records_lists_and_says_what_it_lacks(tmp_path, capsys):
    """Tomorrow's (or yesterday's) result schema: only some fields. It records, lists, and
    ``runs show`` shows what it has and names what it lacks."""
    store = RunStore(data_dir=tmp_path)
    run = SimpleNamespace(models={}, result=_result_like(dataset_name="digits",
                                                         forget_description="class 3"))
    run_id = store.record(run)
    [summary] = store.list_runs()
    assert (summary.dataset, summary.model, summary.verdict, summary.methods) == \
        ("digits", "", None, "")
    stored = store.load(run_id)
    assert stored.result is None and stored.problem
    assert {"config", "baseline", "methods"} <= set(stored.lacks)
    with pytest.raises(ConfigError, match="lacks"):
        store.get(run_id)
    assert main(["runs", "show", run_id[:10], "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "digits: forget class 3" in out and "this record lacks: config" in out
    assert main(["runs", "list", "--data-dir", str(tmp_path)]) == 0
    assert run_id[:12] in capsys.readouterr().out


def test_summary_is_read_defensively_and_verdicts_fold_to_one_word():
    assert summary_values(SimpleNamespace())["dataset"] == ""
    v = SimpleNamespace
    assert overall_verdict(v(verdicts=[v(passed=True), v(passed=False)])) == "fail"
    assert overall_verdict(v(verdicts=[v(status="pass"), v(status="uncertain")])) == "uncertain"
    assert overall_verdict(v(verdicts=[v(status="pass"), v(status="inconclusive")])) == \
        "inconclusive"
    assert overall_verdict(v(verdicts=[v(status="pass"), v(passed=True)])) == "pass"
    assert overall_verdict(v(verdicts=[v(status="fail"), v(status="uncertain")])) == "fail"
    assert overall_verdict(v(status="uncertain", verdicts=[v(passed=True)])) == "uncertain"
    assert overall_verdict(v(verdicts=[])) is None
    twins = v(methods=[v(name="finetune"), v(name="finetune")], evaluations=lambda: [])
    assert summary_values(twins)["methods"] == "finetune,finetune#2"


def test_bad_urls_and_a_missing_driver_are_one_readable_line(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="'notaurl' is not a database URL"):
        RunStore("notaurl", tmp_path)
    with pytest.raises(ConfigError, match="cannot open the run database 'postgresql"):
        RunStore("postgresql://nobody:secret@127.0.0.1:1/x", tmp_path)
    monkeypatch.setitem(__import__("sys").modules, "psycopg", None)
    with pytest.raises(ConfigError, match="driver .* is not installed") as err:
        RunStore("postgresql://u:secret@127.0.0.1:1/x", tmp_path)
    assert "secret" not in str(err.value) and "\n" not in str(err.value)


def test_schema_version_is_stamped(store_url, tmp_path):  # noqa: F811
    from unlearn_core.store.schema import schema_history

    store = RunStore(store_url, tmp_path)
    assert [v for v, _, _ in schema_history(store.engine)] == [SCHEMA_VERSION]

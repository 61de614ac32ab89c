"""Upgrades lose nothing: the database written by the first release (``tests/fixtures/store_v0``)
opens, migrates once (also when several openers race), lists, shows and checks; on SQLite and,
with its rows copied, on PostgreSQL."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import MetaData, Table, create_engine, insert, select, text, update

from tests.store.test_store_pg_server import pg_server, pg_url  # noqa: F401
from unlearn_core.cli.main import main
from unlearn_core.errors import ConfigError
from unlearn_core.store.db import RunStore
from unlearn_core.store.schema import (
    SCHEMA_VERSION,
    metadata,
    runs_table,
    schema_history,
    version_table,
)

FIXTURE = Path(__file__).parents[1] / "fixtures" / "store_v0"
FIXTURE_IDS = {"01df98084c754806a9d44c760d86533f", "fe3a6f077a2446758c5cef13fb3cf8d7"}
V2_COLUMNS = {"project", "record_format", "result_sha256", "content", "size"}


@pytest.fixture
def old_store_dir(tmp_path) -> Path:
    """A copy of the first release's data folder (database + artifact folders)."""
    return Path(shutil.copytree(FIXTURE, tmp_path / "runs"))


def _open_racing(url, data_dir, n=4) -> list:
    """Open the store from ``n`` threads at once (each its own engine and connections)."""
    barrier, out, errors = threading.Barrier(n), [], []

    def opener():
        barrier.wait()
        try:
            out.append(RunStore(url, data_dir))
        except Exception as err:  # pragma: no cover - the assertion shows it
            errors.append(err)

    threads = [threading.Thread(target=opener) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return out


def test_first_release_database_opens_lists_shows_and_checks(old_store_dir, capsys):
    stores = _open_racing(None, old_store_dir)
    assert sorted(s.migrated_from for s in stores) == [1] + [SCHEMA_VERSION] * 3  # one migrated
    store = stores[0]
    assert [v for v, _, _ in schema_history(store.engine)] == [1, SCHEMA_VERSION]
    runs = store.list_runs()
    assert {r.id for r in runs} == FIXTURE_IDS
    assert all(r.project == "default" and r.record_format == 1 for r in runs)
    assert {r.methods for r in runs} == {"finetune", "finetune,random_label"}
    for run_id in FIXTURE_IDS:
        stored = store.load(run_id)
        assert stored.data["dataset_name"] == "wine"
        # artifact paths recorded absolute on another machine resolve in this folder
        arts = store.artifacts(run_id)
        assert arts and all(Path(a.path).is_relative_to(old_store_dir) for a in arts)
        check = store.check(run_id)
        assert check.ok, check.differences
        assert any("record format 1" in n for n in check.notes)
    assert main(["runs", "list", "--data-dir", str(old_store_dir)]) == 0
    listing = capsys.readouterr().out
    assert all(i[:12] in listing for i in FIXTURE_IDS)
    assert main(["runs", "show", "fe3a6f", "--data-dir", str(old_store_dir)]) == 0
    shown = capsys.readouterr().out
    assert "record format 1" in shown and "random_label" in shown
    assert main(["runs", "compare", *sorted(FIXTURE_IDS), "--data-dir",
                 str(old_store_dir)]) == 0
    assert capsys.readouterr().out.count("finetune") == 2


def test_old_and_new_records_live_side_by_side(old_store_dir, small_run):
    store = RunStore(data_dir=old_store_dir)
    new_id = store.record(small_run)
    formats = {r.id: r.record_format for r in store.list_runs()}
    assert formats[new_id] == 2 and {formats[i] for i in FIXTURE_IDS} == {1}
    again = RunStore(data_dir=old_store_dir)  # reopening does not migrate again
    assert again.migrated_from == SCHEMA_VERSION and len(again.list_runs()) == 3


def test_an_older_record_shows_what_it_has_and_says_what_it_lacks(old_store_dir, capsys):
    """A record from before some result fields existed (simulated by removing them)."""
    store = RunStore(data_dir=old_store_dir)
    run_id = sorted(FIXTURE_IDS)[0]
    with store.engine.connect() as conn:
        data = json.loads(conn.execute(select(runs_table.c.result_json).where(
            runs_table.c.id == run_id)).scalar_one())
    for key in ("closeness", "verdicts", "baseline"):
        data.pop(key)
    with store.engine.begin() as conn:
        conn.execute(update(runs_table).where(runs_table.c.id == run_id).values(
            result_json=json.dumps(data)))
    stored = store.load(run_id)
    assert set(stored.lacks) >= {"closeness", "verdicts", "baseline"}
    assert stored.result is None  # baseline is required to rebuild it
    assert main(["runs", "show", run_id[:8], "--data-dir", str(old_store_dir)]) == 0
    out = capsys.readouterr().out
    [lacks_line] = [line for line in out.splitlines() if line.startswith("this record lacks")]
    assert all(name in lacks_line for name in ("baseline", "closeness", "verdicts"))
    assert "retrain" in out and "finetune" in out  # its metrics are still shown
    assert main(["runs", "list", "--data-dir", str(old_store_dir)]) == 0
    assert run_id[:12] in capsys.readouterr().out


def test_a_database_from_a_newer_version_is_refused_readably(tmp_path):
    store = RunStore(data_dir=tmp_path)
    with store.engine.begin() as conn:
        conn.execute(insert(version_table).values(version=SCHEMA_VERSION + 1,
                                                  applied_at="2099-01-01", note="future"))
    with pytest.raises(ConfigError, match=f"schema version {SCHEMA_VERSION + 1}, newer"):
        RunStore(data_dir=tmp_path)


def test_first_release_database_migrates_on_postgresql(pg_url, tmp_path):  # noqa: F811
    """The fixture's rows in a version-1 schema on PostgreSQL: four openers race, one
    migrates, every record lists and checks."""
    v1 = MetaData()
    for table in metadata.sorted_tables:
        if table.name != "schema_version":
            Table(table.name, v1, *[c._copy() for c in table.columns
                                    if c.name not in V2_COLUMNS])
    source = create_engine(f"sqlite:///{FIXTURE / 'runs.sqlite'}")
    target = create_engine(pg_url)
    v1.create_all(target)
    with source.connect() as src, target.begin() as dst:
        for table in v1.sorted_tables:
            rows = [dict(r) for r in src.execute(select(table)).mappings()]
            dst.execute(insert(table), rows)
    source.dispose()
    with target.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM runs")).scalar() == 2
    target.dispose()
    stores = _open_racing(pg_url, tmp_path)
    store = stores[0]
    assert [v for v, _, _ in schema_history(store.engine)] == [1, SCHEMA_VERSION]
    assert {r.id for r in store.list_runs()} == FIXTURE_IDS
    for run_id in FIXTURE_IDS:  # artifacts of a non-default database live in its sub-folder
        shutil.copytree(FIXTURE / "artifacts" / run_id, store.artifact_root / run_id)
        assert store.check(run_id).ok
        assert store.load(run_id).data["dataset_name"] == "wine"

"""The dashboard's run history is the current project's: other projects' runs are not listed,
the sidebar names the project, and a record this version cannot rebuild still shows."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from unlearn_core.store.db import RunStore
from unlearn_core.store.schema import runs_table

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def test_history_shows_only_the_current_project(tmp_path, monkeypatch, small_run):
    mine = RunStore(data_dir=tmp_path, project="team-a").record(small_run)
    theirs = RunStore(data_dir=tmp_path, project="team-b").record(small_run)
    old = RunStore(data_dir=tmp_path, project="team-a").record(small_run)
    store = RunStore(data_dir=tmp_path, project="team-a")
    with store.engine.begin() as conn:  # a record from an older result schema
        data = dict(store.load(old).data)
        data.pop("baseline")
        conn.execute(update(runs_table).where(runs_table.c.id == old).values(
            result_json=json.dumps(data), created_at="2000-01-01T00:00:00+00:00"))
    monkeypatch.setenv("UNLEARN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("UNLEARN_PROJECT", "team-a")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert any("Project **team-a**" in c.value for c in at.sidebar.caption)
    at.switch_page("pages/report.py").run()
    assert not at.exception
    assert any("project **team-a**" in c.value for c in at.caption), (
        [e.value for e in at.error], [c.value for c in at.caption][:5])
    [table] = at.dataframe
    ids = set(table.value["id"])
    assert ids == {mine[:12], old[:12]} and theirs[:12] not in ids
    at.selectbox(key="hist_pick").set_value(old).run()
    assert not at.exception
    assert any("older version" in w.value for w in at.warning)
    assert any("lacks: baseline" in c.value for c in at.caption)

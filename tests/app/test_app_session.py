"""The app keeps the user's work (issue 22), headless (AppTest): a recorded run opens by its
address with its views, the run list opens a run, a data-set switch shows only that data set's
audits, every page names what it shows, a CSV's id and dropped columns are the user's choice,
downloads are named by run, "Run by" starts empty, the language-model page's sidebar is its
own and the page list shows page titles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from unlearn_core.store.db import RunStore

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture()
def stored(tmp_path, monkeypatch, small_run):
    """small_run (wine + mlp, class 1) recorded in a fresh store the app opens; its id."""
    monkeypatch.setenv("UNLEARN_DATA_DIR", str(tmp_path))
    return RunStore(data_dir=tmp_path).record(small_run)


def _opened(run_id: str, page: str = "pages/audit.py") -> AppTest:
    """A fresh session (a reload, a new tab) on ``page`` with ``?run=<run_id>``."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["run"] = run_id
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def _headlines(at: AppTest) -> list[str]:
    return [m.value for m in [*at.success, *at.warning, *at.info] if m.value.startswith("**")]


def test_a_recorded_run_opens_by_its_address_with_its_views(stored, small_run):
    at = _opened(stored[:8])  # a prefix opens it too; the address then says the whole id
    assert at.query_params["run"] == stored
    assert not at.error
    assert at.caption[0].value == (f"Data set **wine** · forget request **class class\\_1** · "
                                   f"run `{stored[:12]}`")
    heads = _headlines(at)
    for v in small_run.result.verdicts:
        assert any(h.startswith(f"**{v.method}**: {v.status.upper()}") for h in heads), heads
    assert {"Accuracy before / after / retrain", "Membership inference", "Contrast two models",
            "Per-sample score shifts", "Relevance maps", "Verdict"} <= \
        {s.value for s in at.subheader}
    ws = at.session_state["ws"]
    assert ws.run_ids == [stored] and ws.ready and ws.source == "wine"
    at.button(key="rel_go").click().run()  # a view that needs the live models draws
    assert not at.exception and not at.error
    at.switch_page("pages/report.py").run()  # the address follows the page switch
    assert at.query_params["run"] == stored and not at.exception


def test_a_bad_address_is_one_error_and_the_session_stays(stored):
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["run"] = "ffffffffffff"
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["no run with id 'ffffffffffff'"]
    assert "run" not in at.query_params  # the address no longer claims it
    at.switch_page("pages/audit.py").run()
    assert not at.exception and any("No model yet" in i.value for i in at.info)


def test_the_run_list_opens_a_run_on_the_audit_page(stored):
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("pages/report.py").run()
    assert at.selectbox(key="hist_pick").value == stored
    at.button(key="hist_open").click().run()
    assert not at.exception and not at.error
    assert at.title[0].value == "Audit" and at.query_params["run"] == stored
    assert f"run `{stored[:12]}`" in at.caption[0].value


def test_a_view_without_the_models_the_store_lacks_says_so(stored, tmp_path):
    from sqlalchemy import delete

    from unlearn_core.store.schema import artifacts_table

    store = RunStore(data_dir=tmp_path)
    with store.engine.begin() as conn:  # as for a TorchScript baseline: no weights kept
        conn.execute(delete(artifacts_table).where(
            (artifacts_table.c.run_id == stored)
            & artifacts_table.c.name.in_(["baseline.safetensors", "baseline.json"])))
    at = _opened(stored)
    assert not at.error
    assert any("the live model(s) baseline" in c.value for c in at.caption)
    said = [i.value for i in at.info if "which the run store does not keep" in i.value]
    assert any(s.startswith("The contrast view needs") for s in said), said
    assert any(s.startswith("Relevance maps needs") for s in said), said
    assert _headlines(at)  # the verdict still shows


def test_switching_data_sets_shows_only_that_data_sets_audits(stored):
    at = _opened(stored)
    assert at.selectbox(key="audit_pick").value == 0
    at.switch_page("pages/setup.py").run()
    at.selectbox(key="setup_dataset").set_value("breast_cancer").run()
    at.selectbox(key="setup_arch").set_value("logreg").run()
    at.button(key="setup_go").click().run()
    assert not at.exception and not at.error
    assert "run" not in at.query_params  # no audit of this data set yet
    at.switch_page("pages/audit.py").run()
    assert not at.exception
    assert any("No audit yet" in i.value for i in at.info)
    assert not any("wine" in c.value for c in at.caption)
    at.switch_page("pages/unlearn.py").run()
    assert at.caption[0].value.startswith("Data set **breast\\_cancer** · forget request **0 "
                                          "sample(s)** · run: none yet")
    at.switch_page("pages/report.py").run()
    assert any("No audit in this session yet" in i.value for i in at.info)
    # back to wine: its audit comes back
    at.switch_page("pages/setup.py").run()
    at.selectbox(key="setup_dataset").set_value("wine").run()
    at.button(key="setup_go").click().run()
    at.switch_page("pages/audit.py").run()
    assert not at.exception
    assert at.session_state["ws"].run_ids == [stored]
    assert f"run `{stored[:12]}`" in at.caption[0].value


def test_downloads_are_named_by_run_and_run_by_starts_empty(stored, monkeypatch):
    names: list[str] = []
    real = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        names.append(filename)
        return real(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    at = _opened(stored, "pages/report.py")
    assert not at.error
    assert at.text_input(key="report_run_by").value == ""
    assert {f"audit_wine_{stored[:12]}.html", f"audit_wine_{stored[:12]}.json"} <= set(names)
    assert "audit_report.html" not in names
    assert at.caption[0].value.endswith(f"run `{stored[:12]}`")


def _users_csv(ids, extra: str, extra_values) -> bytes:
    rng = np.random.default_rng(0)
    rows = [f"id,{extra},a,b,label"]
    for i, rid in enumerate(ids):
        rows.append(f"{rid},{extra_values[i]},{rng.normal():.3f},{rng.normal():.3f},"
                    f"{'cat' if i % 2 else 'dog'}")
    return ("\n".join(rows) + "\n").encode()


def test_setup_takes_a_csvs_id_column_and_drops_columns(tmp_path, monkeypatch):
    monkeypatch.setenv("UNLEARN_DATA_DIR", str(tmp_path))
    ids = list(np.random.default_rng(1).permutation(np.arange(500, 560)))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.radio(key="setup_source").set_value("Upload").run()
    at.selectbox(key="setup_arch").set_value("logreg").run()
    at.file_uploader(key="setup_upload").upload(
        "users.csv", _users_csv(ids, "name", [f"u{i}" for i in range(60)])).run()
    assert at.selectbox(key="setup_id_column").value == "id"  # proposed
    assert any("Column **id** holds distinct whole numbers" in c.value for c in at.caption)
    at.button(key="setup_go").click().run()  # the text column is in the way: said, session ok
    assert "column 'name' is not numeric" in at.error[0].value and not at.exception
    at.multiselect(key="setup_drop_columns").select("name").run()
    at.button(key="setup_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    ws = at.session_state["ws"]
    assert sorted(ws.dataset.ids.tolist()) == sorted(int(i) for i in ids)
    assert ws.dataset.feature_names == ["a", "b"]
    assert ws.data_options == {"label_column": "label", "id_column": "id",
                               "drop_columns": ["name"]}
    # a text id column: chosen as the ids it is refused with the way out; dropped it loads
    at.file_uploader(key="setup_upload").upload(
        "texts.csv", _users_csv(range(60), "uid", [f"u-{i}" for i in range(60)])).run()
    assert at.multiselect(key="setup_drop_columns").value == []  # a new file starts afresh
    at.selectbox(key="setup_id_column").set_value("uid").run()
    at.button(key="setup_go").click().run()
    assert "ids must be whole numbers: drop the column" in at.error[0].value
    at.selectbox(key="setup_id_column").set_value("id").run()
    at.multiselect(key="setup_drop_columns").select("uid").run()
    at.button(key="setup_go").click().run()
    assert not at.exception and not at.error
    assert at.session_state["ws"].dataset.ids.tolist() == list(range(60))


def test_the_unlearn_page_estimates_the_time_before_a_run(stored):
    at = _opened(stored, "pages/unlearn.py")
    [estimate] = [c.value for c in at.caption if c.value.startswith("Estimated time: about ")]
    assert "approximate" in estimate and "measured on this machine" in estimate
    assert not at.session_state["ws"].runs[1:]  # nothing ran to say it


def test_page_titles_in_the_sidebar_and_the_language_model_page_has_its_own(stored):
    at = _opened(stored, "pages/text.py")
    labels = [p.proto.label for p in at.sidebar.children.values()
              if getattr(p, "type", None) == "page_link"]
    assert labels == ["1 · Setup", "2 · Forget set", "3 · Unlearn", "4 · Audit", "5 · Report",
                      "6 · Language models"]
    shown = " ".join(c.value for c in at.sidebar.caption)
    assert "Language-model audit: none yet" in shown
    assert "wine" not in shown and "Forget:" not in shown  # not the classifier's setup
    config = (Path(APP).parent / ".streamlit" / "config.toml").read_text()
    assert "showSidebarNavigation = false" in config  # no list of pages/'s file names first

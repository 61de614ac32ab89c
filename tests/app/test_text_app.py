"""The Language models page, headless (AppTest): train a tiny model, pick a person by clicking
on the embedding map and a fact in the searchable table, run an audit, read the verdict
headline, the judged checks, the metric table, completions and per-token loss, and download the
report (its PDF too, where chromium is); the own-data mode waits for an upload (AppTest cannot
drive a file uploader; the loader's errors are tested in test_text_facts)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from streamlit.testing.v1 import AppTest

from unlearn_core.report.text import render_text_html
from unlearn_core.text.facts import FactSetConfig, generate_facts

APP = str(Path(__file__).resolve().parents[2] / "app.py")
CHROMIUM = Path("/usr/bin/chromium").exists() or shutil.which("chromium")


def _text_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.switch_page("pages/text.py").run()
    assert not at.exception
    return at


def _tiny(at: AppTest) -> AppTest:
    at.number_input(key="text_people").set_value(6).run()
    at.number_input(key="text_attributes").set_value(2).run()
    at.number_input(key="text_epochs").set_value(30).run()
    at.number_input(key="text_retrains").set_value(2).run()
    return at


def _click_map(at: AppTest, item_id: str, person: str) -> None:
    """What a click on a map point sends: the point's customdata [fact id, person]."""
    n = at.session_state["text_map_round"]
    at.session_state[f"text_map_{n}"] = {"selection": {"points": [
        {"customdata": [item_id, person]}], "point_indices": [0], "box": [], "lasso": []}}
    at.run()


def test_map_picks_people_and_facts_and_the_audit_runs():
    at = _tiny(_text_page())
    assert at.button(key="text_go").disabled  # nothing chosen yet
    assert any("Train the model to see" in m.value for m in at.info)
    at.button(key="text_train").click().run()
    assert not at.exception and not at.error
    assert at.session_state["text_trained_key"]
    assert any(c.value.startswith("Model ready") for c in at.caption)
    fs = generate_facts(FactSetConfig(n_people=6, n_holdout=4, n_attributes=2, seed=0))
    first, second = fs.people[0], fs.people[1]

    # a click on one of the second person's points takes that person, once
    _click_map(at, f"{second}:profession", second)
    assert at.multiselect(key="text_forget").value == [second]
    assert at.session_state["text_map_round"] == 1  # a fresh map for the next click
    _click_map(at, f"{second}:birthplace", second)
    assert at.multiselect(key="text_forget").value == [second]  # already chosen
    assert "1 people, 2 facts selected" in at.caption[-1].value or any(
        "1 people, 2 facts selected" in c.value for c in at.caption)

    # single facts: a click takes that fact only; the table's search narrows the rows
    at.radio(key="text_unit").set_value("Single facts").run()
    _click_map(at, f"{first}:birthplace", first)
    assert at.multiselect(key="text_forget_facts").value == [f"{first}:birthplace"]
    at.text_input(key="text_search").input(first).run()
    shown = [d.value for d in at.dataframe if "id" in d.value.columns][0]
    assert set(shown["group"]) == {first} and len(shown) == 2

    at.radio(key="text_unit").set_value("People").run()
    at.multiselect(key="text_forget").set_value([second]).run()
    at.multiselect(key="text_methods").set_value(["gradient_ascent"]).run()
    # before it runs, the page says what it will train (the original's recorded time, scaled)
    estimate = [c.value for c in at.caption if c.value.startswith("About ")]
    assert len(estimate) == 1 and " retrains (about " in estimate[0], estimate
    assert "more when a verdict is borderline (4 more retrains)" in estimate[0]
    at.button(key="text_go").click().run()
    assert not at.exception and not at.error
    run = at.session_state["text_run"]
    assert {i.split(":")[0] for i in run.result.forget_ids} == {second}
    # the verdict headline per method comes first
    boxes = [m.value for m in [*at.success, *at.error, *at.warning]]
    assert any(b.startswith("**gradient_ascent: ") and " checks pass" in b for b in boxes)
    checks = [d.value for d in at.dataframe if "reason" in d.value.columns][0]
    assert {"forget answer accuracy", "model utility"} <= set(checks["check"])
    table = at.code[0].value
    assert "retrain#2" in table and "gradient_ascent" in table and "forget quality" in table
    completions = [d.value for d in at.dataframe if "question" in d.value.columns][0]
    assert list(completions.columns[:2]) == ["question", "answer"] and len(completions) == 2
    assert {"original", "retrain", "gradient_ascent"} <= set(completions.columns)
    shaded = "".join(m.value for m in at.markdown)
    assert shaded.count("nats") >= 3 * 4  # three models, at least four answer tokens each
    report = at.session_state["text_report"]
    assert report["reproducibility"]["kind"] == "text"
    assert [v["method"] for v in report["result"]["verdicts"]] == ["gradient_ascent"]
    assert json.loads(json.dumps(report))["content_sha256"] == report["content_sha256"]
    # the auditor typed in signs the downloads; the date stays the audit's
    assert report["reproducibility"]["signoff"]["auditor"] == ""
    at.text_input(key="text_auditor").set_value("A. Auditor").run()
    signed = at.session_state["text_report"]
    assert signed["reproducibility"]["signoff"]["auditor"] == "A. Auditor"
    assert signed["reproducibility"]["signoff"]["date"] == \
        report["reproducibility"]["signoff"]["date"]
    assert signed["content_sha256"] != report["content_sha256"]
    assert "A. Auditor" in render_text_html(signed)
    if CHROMIUM:  # Build PDF prints the signed report; its download embeds exactly that one
        from unlearn_core.report.pdf_embed import read_pdf

        at.button(key="text_pdf_go").click().run()
        assert not at.exception and not at.error
        built = at.session_state["text_pdf"]
        assert built[0] == signed["content_sha256"]
        pdf = Path(tempfile.mkdtemp()) / "text_report.pdf"
        pdf.write_bytes(built[1])
        assert [json.loads(a) for a in read_pdf(pdf).attachments] == [signed]


def test_your_data_waits_for_an_upload():
    at = _text_page()
    at.radio(key="text_source").set_value("Your data").run()
    assert not at.exception and not at.error
    assert any("Upload a .jsonl" in m.value for m in at.info)
    assert at.number_input(key="text_people").disabled
    assert not [b for b in at.button if b.key == "text_go"]  # nothing to run yet

"""The Language models page, headless (AppTest): a tiny built-in audit end to end (table
search, methods, metric table, verdict, completions, per-token loss) and the own-data mode
waiting for an upload (AppTest cannot drive a file uploader; the loader's errors are tested in
test_text_facts)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def _text_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.switch_page("pages/text.py").run()
    assert not at.exception
    return at


def test_text_page_runs_a_tiny_audit():
    at = _text_page()
    at.number_input(key="text_people").set_value(6).run()
    at.number_input(key="text_attributes").set_value(2).run()
    at.number_input(key="text_epochs").set_value(30).run()
    assert at.button(key="text_go").disabled  # nothing chosen yet
    first = at.multiselect(key="text_forget").options[0]
    at.text_input(key="text_search").input(first).run()
    assert "1 people" not in at.caption[-1].value
    at.multiselect(key="text_forget").select(first).run()
    at.multiselect(key="text_methods").set_value(["gradient_ascent"]).run()
    at.button(key="text_go").click().run()
    assert not at.exception and not at.error
    table = at.code[0].value
    assert "retrain" in table and "gradient_ascent" in table and "forget quality" in table
    assert any("verdict gradient_ascent" in m.value for m in [*at.success, *at.warning])
    completions = [d.value for d in at.dataframe if "question" in d.value.columns][0]
    assert list(completions.columns[:2]) == ["question", "answer"] and len(completions) == 2
    assert {"original", "retrain", "gradient_ascent"} <= set(completions.columns)
    shaded = "".join(m.value for m in at.markdown)
    assert shaded.count("nats") >= 3 * 4  # three models, at least four answer tokens each
    assert at.session_state["text_run"].result.forget_ids[0].startswith(first + ":")


def test_your_data_waits_for_an_upload():
    at = _text_page()
    at.radio(key="text_source").set_value("Your data").run()
    assert not at.exception and not at.error
    assert any("Upload a .jsonl" in m.value for m in at.info)
    assert at.number_input(key="text_people").disabled
    assert not [b for b in at.button if b.key == "text_go"]  # nothing to run yet

"""The dashboard's pages, headless (streamlit.testing.v1.AppTest): the default flow runs end
to end and bad input shows up as an error in the page while the session survives."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def _ready() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.button(key="setup_go").click().run()
    assert not at.exception and not at.error
    return at


def _run_class_3(select: tuple[str, str]) -> AppTest:
    """Default setup, class 3 forgotten, one extra choice on the Unlearn page, run."""
    at = _ready()
    at.switch_page("pages/forget.py").run()
    at.multiselect(key="forget_classes").select(3).run()
    at.button(key="forget_classes_go").click().run()
    at.switch_page("pages/unlearn.py").run()
    at.multiselect(key=select[0]).select(select[1]).run()
    at.button(key="unlearn_go").click().run()
    return at


def _shown_maps(at: AppTest):
    """The relevance maps the audit page shows now (None when it shows none)."""
    from pages.relevance_view import maps_key

    ws = at.session_state["ws"]
    run = ws.runs[at.selectbox(key="audit_pick").value]
    scope = at.selectbox(key="rel_scope").value
    ids = set(run.result.forget_ids.tolist())
    sid = ws.open_sample if ws.open_sample in ids else int(run.result.forget_ids[0])
    key = maps_key(run, at.selectbox(key="rel_method").value,
                   at.selectbox(key="rel_attr").value, scope, sid)
    hit = at.session_state["rel_maps"].get(key)
    return hit[1] if hit is not None and hit[0] is run else None


@pytest.fixture(scope="module")
def audited() -> AppTest:
    """Default setup, class 3 forgotten, finetune + neggrad_plus run."""
    return _run_class_3(("unlearn_methods", "neggrad_plus"))


def test_setup_trains_and_shows_accuracy():
    at = _ready()
    assert "Ready: digits" in at.success[0].value
    labels = [m.label for m in at.metric]
    assert "Test accuracy" in labels
    test_acc = float(next(m.value for m in at.metric if m.label == "Test accuracy").rstrip("%"))
    assert test_acc > 90


def test_forget_page_edits_and_undo():
    at = _ready()
    at.switch_page("pages/forget.py").run()
    at.text_area(key="forget_ids_text").input("not-an-id").run()
    at.button(key="forget_ids_go").click().run()
    assert "not a sample id" in at.error[0].value
    ws = at.session_state["ws"]
    train_ids = ws.dataset.ids[ws.splits.train[:4]]
    test_id = int(ws.dataset.ids[ws.splits.test[0]])
    at.text_area(key="forget_ids_text").input(str(test_id)).run()
    at.button(key="forget_ids_go").click().run()
    assert "not training samples" in at.error[0].value
    at.text_area(key="forget_ids_text").input(", ".join(map(str, train_ids))).run()
    at.button(key="forget_ids_go").click().run()
    assert not at.error
    assert at.metric[0].value == "4"
    at.slider(key="forget_frac").set_value(0.2).run()
    at.button(key="forget_random_go").click().run()
    assert int(at.metric[0].value) == round(0.2 * len(ws.splits.train))
    at.button(key="forget_undo").click().run()
    assert at.metric[0].value == "4"
    at.button(key="forget_clear").click().run()
    assert at.session_state["ws"].selection.is_empty


def test_unlearn_with_an_empty_forget_set_is_an_error_and_keeps_the_session():
    at = _ready()
    at.switch_page("pages/unlearn.py").run()
    at.button(key="unlearn_go").click().run()
    assert "forget set is empty" in at.error[0].value
    assert at.session_state["ws"].ready and not at.exception


def test_default_flow_reaches_the_audit(audited):
    at = audited
    assert not at.exception
    assert "Finished: retrain, finetune, neggrad_plus" in at.success[0].value
    run = at.session_state["ws"].current.result
    assert run.retrain.accuracy.forget < 0.05 and run.baseline.accuracy.forget > 0.9
    # issue 22: the finished audit has an address, shown on the Audit page as it is named
    assert at.query_params["run"] == at.session_state["ws"].run_ids[-1]
    at.switch_page("pages/audit.py").run()
    assert not at.exception and not at.error
    assert at.query_params["run"] == at.session_state["ws"].run_ids[-1]
    assert at.caption[0].value.startswith("Data set **digits** · forget request **class 3**")
    assert {s.value for s in at.subheader} >= {"Accuracy before / after / retrain",
                                               "Membership inference",
                                               "Per-sample score shifts"}
    at.button(key="rel_go").click().run()
    assert not at.exception and not at.error
    assert _shown_maps(at).before.shape == (1, 8, 8)
    at.selectbox(key="rel_attr").select("lrp").run()
    at.button(key="rel_go").click().run()
    assert not at.exception and not at.error
    assert _shown_maps(at).attribution == "lrp"
    at.switch_page("pages/report.py").run()
    assert not at.exception and not at.error
    assert at.get("download_button")
    ws = at.session_state["ws"]
    assert ws.run_ids and ws.run_ids[-1]  # recorded in the run database


def test_bad_upload_is_an_error_in_the_page():
    at = _ready()
    at.radio(key="setup_source").set_value("Upload").run()
    at.file_uploader(key="setup_upload").upload("data.npz", b"this is not an npz").run()
    at.button(key="setup_go").click().run()
    assert at.error, "a bad file must be reported"
    assert at.session_state["ws"].ready  # the earlier baseline survives
    # ...but its accuracy and "Good: a strong diagonal" do not stand under the error as if
    # they were the new setup's (issue 13)
    assert not [m for m in at.metric if m.label == "Train accuracy"]
    assert not any("strong diagonal" in c.value for c in at.caption)
    assert any("Nothing new was loaded" in c.value for c in at.caption)


def test_setup_shows_what_is_loaded_after_visiting_another_page():
    """Issue 13: back on Setup, the widgets showed digits / cnn while wine / mlp was loaded."""
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.selectbox(key="setup_dataset").set_value("wine").run()
    at.selectbox(key="setup_arch").set_value("mlp").run()
    at.number_input(key="setup_seed").set_value(2).run()
    at.button(key="setup_go").click().run()
    assert not at.exception and not at.error
    assert "Loaded now: **wine** · model `mlp` · seed 2" in at.info[0].value
    at.switch_page("pages/forget.py").run()
    at.switch_page("pages/setup.py").run()
    assert not at.exception
    assert at.selectbox(key="setup_dataset").value == "wine"
    assert at.selectbox(key="setup_arch").value == "mlp"
    assert at.number_input(key="setup_seed").value == 2
    assert "wine" in at.info[0].value


def test_weights_uploader_takes_only_model_files():
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    types = at.file_uploader(key="setup_weights").proto.type
    assert set(types) == {".safetensors", ".pt", ".pth", ".pt2", ".ts"}


def test_app_favicon_is_bundled_not_fetched_from_the_internet():
    """Streamlit turns a material page icon into a favicon URL on fonts.gstatic.com (failed
    requests offline); the app's is a file it serves itself. The browser test checks that no
    request leaves the app."""
    root = Path(APP).parent
    for path in [root / "app.py", *(root / "pages").glob("*.py")]:
        assert not re.search(r"page_icon=\s*\":material", path.read_text()), path
    assert (root / "assets" / "favicon.png").stat().st_size > 0
    assert "page_icon=FAVICON" in (root / "app.py").read_text()


def test_uploaded_npz_and_mismatched_model():
    from unlearn_core.models import ModelSpec, build_model, save_model

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    buf = io.BytesIO()
    np.savez(buf, X=X, y=y)
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.radio(key="setup_source").set_value("Upload").run()
    at.file_uploader(key="setup_upload").upload("mine.npz", buf.getvalue()).run()
    at.selectbox(key="setup_arch").set_value("mlp").run()
    at.button(key="setup_go").click().run()
    assert not at.error and "Ready: mine.npz" in at.success[0].value
    # a model with 3 outputs for a 2-class dataset is refused
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        w, s = save_model(build_model(ModelSpec("mlp", (6,), 3)), Path(tmp) / "m")
        at.file_uploader(key="setup_weights").upload("m.safetensors", w.read_bytes()).run()
        at.file_uploader(key="setup_spec").upload("m.json", s.read_bytes()).run()
    at.button(key="setup_go").click().run()
    assert "2 classes" in at.error[0].value


def test_sessions_are_isolated(audited):
    other = AppTest.from_file(APP, default_timeout=60)
    other.run()
    assert not other.session_state["ws"].runs
    assert audited.session_state["ws"].runs


@pytest.mark.slow
def test_verification_scenarios_from_the_unlearn_page():
    at = _run_class_3(("unlearn_checks", "inversion"))
    assert not at.exception and not at.error
    res = at.session_state["ws"].current.result
    assert [(c.name, c.method) for c in res.checks] == [("inversion", "finetune")]
    at.switch_page("pages/audit.py").run()
    assert not at.exception and not at.error
    assert "Verification scenarios" in {s.value for s in at.subheader}
    # the inversion check's reconstructions next to the forget set's mean image
    assert any("Unlearning inversion" in m.value for m in at.markdown)
    assert at.selectbox(key="inv_method").value == "finetune"
    assert len(at.get("image")) == 3  # forget-set mean, two reconstructions


def test_relevance_maps_belong_to_the_audit_on_screen(audited):
    """Issue 13: after a data-set switch the audit page crashed (IndexError: the class name of
    the previous audit's maps) and an audit of a few samples showed the previous audit's maps.
    Runs last: it adds audits to the shared session."""
    at = audited
    at.switch_page("pages/audit.py").run()
    at.button(key="rel_go").click().run()
    assert not at.exception and _shown_maps(at) is not None  # digits, class 3
    # switch to a 3-class tabular data set and audit 5 selected samples
    at.switch_page("pages/setup.py").run()
    at.selectbox(key="setup_dataset").set_value("wine").run()
    at.selectbox(key="setup_arch").set_value("mlp").run()
    at.button(key="setup_go").click().run()
    assert not at.exception and not at.error
    at.switch_page("pages/forget.py").run()
    ws = at.session_state["ws"]
    at.text_area(key="forget_ids_text").input(
        ", ".join(str(i) for i in ws.dataset.ids[ws.splits.train[:5]])).run()
    at.button(key="forget_ids_go").click().run()
    at.switch_page("pages/unlearn.py").run()
    at.button(key="unlearn_go").click().run()
    assert not at.exception and not at.error
    at.switch_page("pages/audit.py").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="audit_pick").value == len(ws.runs) - 1
    assert _shown_maps(at) is None  # nothing of the digits audit
    assert not any("class 3" in m.value for m in at.markdown)
    assert any("Press **Compute relevance maps**" in c.value for c in at.caption)
    at.button(key="rel_go").click().run()
    assert not at.exception and not at.error
    shown = _shown_maps(at)
    assert shown.title.startswith("sample ") and shown.before.shape == (13,)
    # the earlier audit's maps are still its own
    at.selectbox(key="audit_pick").set_value(0).run()
    assert not at.exception

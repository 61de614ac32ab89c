"""A new user's flows end to end in the app (issue 13): a 4-class CSV with text labels, a
3-class image ZIP with a top-level folder, and a data-set switch between them. Every page,
including the forget set's difficulty, the audit's contrast view and the report's one-page
summary, runs without an exception."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")
NAMES = ["alpha", "beta", "gamma", "delta"]


def _csv() -> bytes:
    rng = np.random.default_rng(0)
    lines = ["f1,f2,f3,f4,f5,label"]
    for i in range(240):
        c = i % 4
        x = rng.normal(size=5) + 2.5 * np.eye(5)[c]
        lines.append(",".join(f"{v:.4f}" for v in x) + f",{NAMES[c]}")
    return ("\n".join(lines) + "\n").encode()


def _zip() -> bytes:
    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for c, name in enumerate(["circle", "square", "stripe"]):
            for i in range(40):
                img = rng.integers(0, 60, (16, 16)).astype(np.uint8)
                if c == 0:
                    yy, xx = np.mgrid[:16, :16]
                    img[(yy - 8) ** 2 + (xx - 8) ** 2 < 25] = 230
                elif c == 1:
                    img[4:12, 4:12] = 230
                else:
                    img[:, ::4] = 230
                png = io.BytesIO()
                Image.fromarray(img).save(png, format="PNG")
                z.writestr(f"shapes/{name}/{i}.png", png.getvalue())
    return buf.getvalue()


def _ok(at: AppTest, where: str) -> None:
    assert not at.exception, (where, at.exception)
    assert not at.error, (where, [e.value for e in at.error])


def _flow(at: AppTest, filename: str, data: bytes, arch: str, forget_class: int) -> None:
    """Setup with an upload, forget a class, run the default method, open audit and report."""
    at.switch_page("pages/setup.py").run()
    at.radio(key="setup_source").set_value("Upload").run()
    at.file_uploader(key="setup_upload").upload(filename, data).run()
    at.selectbox(key="setup_arch").set_value(arch).run()
    at.button(key="setup_go").click().run()
    _ok(at, f"setup {filename}")
    assert f"Ready: {filename}" in at.success[0].value
    at.switch_page("pages/forget.py").run()
    _ok(at, "forget page")
    at.multiselect(key="forget_classes").select(forget_class).run()
    at.button(key="forget_classes_go").click().run()
    _ok(at, "forget a class")
    assert "How hard is this set to unlearn?" in {s.value for s in at.subheader}
    at.switch_page("pages/unlearn.py").run()
    at.number_input(key="unlearn_reference_seeds").set_value(3).run()
    at.button(key="unlearn_go").click().run()
    _ok(at, "unlearn")
    at.switch_page("pages/audit.py").run()
    _ok(at, "audit")
    assert {"Contrast two models", "Verdict"} <= {s.value for s in at.subheader}
    at.switch_page("pages/report.py").run()
    _ok(at, "report")
    at.text_input(key="report_auditor").input("New User").run()
    _ok(at, "report with an auditor")
    payload = at.session_state["report_payload_cur"]
    assert payload["reproducibility"]["signoff"]["auditor"] == "New User"
    assert payload["reproducibility"]["data"]["file"] == filename  # the upload, by hash


@pytest.mark.timeout(900)
@pytest.mark.slow
def test_csv_zip_and_a_data_set_switch_run_without_an_exception():
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    _flow(at, "four.csv", _csv(), "mlp", 2)
    ws = at.session_state["ws"]
    assert set(ws.dataset.class_names) == set(NAMES)
    assert 0 < ws.current.result.n_forget < 60  # the training share of one class of 60
    _flow(at, "shapes.zip", _zip(), "cnn", 1)
    ws = at.session_state["ws"]
    assert ws.dataset.kind == "image" and ws.dataset.n_classes == 3
    # back to the first audit of the other data set: the audit page still draws it
    at.switch_page("pages/audit.py").run()
    at.selectbox(key="audit_pick").set_value(0).run()
    _ok(at, "earlier audit after the switch")
    assert "Contrast two models" in {s.value for s in at.subheader}
    # and a switch to a built-in data set
    at.switch_page("pages/setup.py").run()
    at.radio(key="setup_source").set_value("Built-in").run()
    at.selectbox(key="setup_dataset").set_value("wine").run()
    at.selectbox(key="setup_arch").set_value("logreg").run()
    at.button(key="setup_go").click().run()
    _ok(at, "switch to wine")
    for page in ("pages/forget.py", "pages/unlearn.py", "pages/audit.py", "pages/report.py"):
        at.switch_page(page).run()
        _ok(at, page)


def test_report_page_payload_carries_the_signoff_and_provenance():
    """The report page's JSON download holds the auditor typed in, the operator, the run id
    and where the baseline came from (trained here, in this session)."""
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.selectbox(key="setup_dataset").set_value("wine").run()
    at.selectbox(key="setup_arch").set_value("logreg").run()
    at.button(key="setup_go").click().run()
    at.switch_page("pages/forget.py").run()
    at.multiselect(key="forget_classes").select(0).run()
    at.button(key="forget_classes_go").click().run()
    at.switch_page("pages/unlearn.py").run()
    at.number_input(key="unlearn_reference_seeds").set_value(2).run()
    at.button(key="unlearn_go").click().run()
    at.switch_page("pages/report.py").run()
    at.text_input(key="report_auditor").input("A. Auditor").run()
    at.text_input(key="report_run_by").input("operator-1").run()
    _ok(at, "report")
    ws = at.session_state["ws"]
    assert ws.baseline_origins[id(ws.baseline)] == {"source": "trained here"}
    payload = at.session_state["report_payload_cur"]  # what the downloads hold
    so = payload["reproducibility"]["signoff"]
    assert so["auditor"] == "A. Auditor" and so["run_by"] == "operator-1"
    assert so["run_id"] == ws.run_ids[-1] and so["date"]
    assert payload["reproducibility"]["baseline"]["source"] == "trained here"


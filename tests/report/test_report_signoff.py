"""The report an auditor signs: page one of the PDF states the verdict per method with its
reasons, the baseline's provenance and a sign-off block (issue 13)."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from unlearn_core.report import build_json_report, content_hash, render_html, write_reports
from unlearn_core.report.build import baseline_record, signoff_record

CHROMIUM = Path("/usr/bin/chromium")


def _summary(page: str) -> str:
    return page.split("<h2>Summary</h2>")[1].split("</section>")[0]


def test_signoff_and_provenance_are_in_the_hashed_block(small_run):
    res = small_run.result
    so = signoff_record("run-abc", "A. Auditor", "operator", "2026-01-02T03:04:05+00:00")
    payload = build_json_report(res, signoff=so)
    repro = payload["reproducibility"]
    assert repro["signoff"] == {"auditor": "A. Auditor", "run_by": "operator",
                                "date": "2026-01-02T03:04:05+00:00", "run_id": "run-abc"}
    assert repro["baseline"]["source"] == "trained here"
    assert repro["baseline"]["seed"] == res.config.seed
    assert repro["baseline"]["recipe"]["epochs"] == 15
    assert repro["baseline"]["model_hash"] == res.baseline.model_hash
    edited = json.loads(json.dumps(payload))
    edited["reproducibility"]["signoff"]["auditor"] = "someone else"
    assert content_hash(edited) != payload["content_sha256"]  # an edited sign-off shows


def test_summary_comes_first_with_verdicts_reasons_and_signoff(small_run):
    res = small_run.result
    so = signoff_record("run-abc", "A. Auditor", "operator", "2026-01-02T03:04:05+00:00")
    page = render_html(res, small_run, build_json_report(res, signoff=so))
    h2 = page.index("<h2>")
    assert page[h2:].startswith("<h2>Summary</h2>")  # before any table or chart
    summary = _summary(page)
    assert "<table" not in summary.split("<h3>")[0]  # verdicts first, in words
    for v in res.verdicts:
        assert f"{v.method}: {v.headline}" in summary
        assert v.reason and v.reason.split(":")[0] in summary
    failing = next(c for c in res.verdicts[0].checks if c.status == "fail")
    assert f"{failing.title}: fail" in summary  # the deciding checks, one line each
    for text in ("A. Auditor", "2026-01-02T03:04:05+00:00", "run-abc", "operator",
                 "s signature: ____", "Reviewed by", "trained here from scratch"):
        assert text in summary, text
    assert page.index("</section>") < page.index("<nav>")  # the contents after page one


def test_uploaded_baseline_is_named_with_its_hash_and_unknown_is_said(small_run):
    res = small_run.result
    up = baseline_record(res, {"file": "model.safetensors", "sha256": "ab" * 32, "bytes": 9})
    page = render_html(res, None, build_json_report(res, baseline=up))
    assert "uploaded by the user: model.safetensors, SHA-256 " + "ab" * 32 in _summary(page)
    page = render_html(res, None, build_json_report(res, baseline=baseline_record(
        res, known=False)))
    assert "not recorded" in _summary(page)
    blank = render_html(res, None, build_json_report(res))  # no sign-off: lines to fill in
    assert "____" in _summary(blank)


def test_cli_report_names_the_auditor_and_run_id(tmp_path, monkeypatch):
    from unlearn_core.cli.main import main

    monkeypatch.setenv("UNLEARN_DATA_DIR", str(tmp_path / "runs"))
    code = main(["audit", "--dataset", "wine", "--model", "logreg", "--forget", "class:1",
                 "--method", "finetune", "--epochs", "5", "--reference-seeds", "2",
                 "--executor", "serial", "--report", str(tmp_path / "rep"), "--no-pdf",
                 "--auditor", "Dr. Sign"])
    assert code in (0, 1)
    payload = json.loads((tmp_path / "rep" / "report.json").read_text())
    so = payload["reproducibility"]["signoff"]
    assert so["auditor"] == "Dr. Sign" and len(so["run_id"]) >= 8 and so["date"][:2] == "20"
    assert "Dr. Sign" in _summary((tmp_path / "rep" / "report.html").read_text())


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")
def test_pdf_page_one_states_each_verdict_with_a_reason(tmp_path, small_run):
    pypdf = pytest.importorskip("pypdf")
    so = signoff_record("run-xyz", "A. Auditor", "operator", "2026-01-02T03:04:05+00:00")
    paths = write_reports(small_run.result, tmp_path, small_run, [], signoff=so)
    reader = pypdf.PdfReader(str(paths["pdf"]))
    assert len(reader.pages) >= 3
    first = " ".join(unicodedata.normalize("NFKC", reader.pages[0].extract_text()).split())
    for v in small_run.result.verdicts:
        assert f"{v.method}: {v.status.upper()}" in first, first[:500]
        assert "Why:" in first and v.reason.split(":")[0] in first
    for text in ("A. Auditor", "run-xyz", "Reviewed by", "trained here"):
        assert text in first, text
    # the detail starts on a later page
    rest = " ".join(" ".join(p.extract_text().split()) for p in reader.pages[1:])
    assert "Accuracy shifts" in rest and "Accuracy shifts" not in first.split("Sign-off")[0]


def test_the_signed_line_names_every_report_file_signed():
    """``--sign-key`` signs the PDF too when one was printed: the line says so."""
    from pathlib import Path

    from unlearn_core.report.signing import signed_line

    both = {"json": Path("r/report.json"), "html": Path("r/report.html")}
    assert signed_line(both, "ab12") == "signed report.json and report.html with key ab12"
    assert signed_line({**both, "pdf": Path("r/report.pdf")}, "ab12") == \
        "signed report.json, report.html and report.pdf with key ab12"

"""`verify report.pdf`: the PDF report embeds the report it was printed from (attachment
``report.json`` and a ``/AuditReportSHA256`` entry, ``unlearn_core/report/pdf_embed.py``); a PDF
whose visible verdict or embedded JSON was edited exits 1 with the reason.

One small audit (wine, logreg, forget class 1, 3 reference retrains) written with its PDF by the
system chromium (skipped where there is none)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from unlearn_core.cli.main import main
from unlearn_core.report import content_hash

CHROMIUM = Path("/usr/bin/chromium").exists() or shutil.which("chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM, reason="the PDF report needs chromium")

CONFIG = {"dataset": "wine", "model": "logreg", "forget": "class:1", "reference_seeds": 3,
          "executor": "serial", "train": {"epochs": 15, "lr": 2e-2}, "methods": ["finetune"]}


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pdf")
    cfg = folder / "config.json"
    cfg.write_text(json.dumps(CONFIG))
    assert main(["audit", "--config", str(cfg), "--report", str(folder / "rep"), "--quiet",
                 "--no-store"]) == 0
    assert (folder / "rep" / "report.pdf").is_file()
    return folder / "rep"


def _verify(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["verify", *args, "--quiet"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _headline(rep: Path) -> tuple[str, str]:
    """finetune's recorded status (upper case) and the verdict line the report shows."""
    from unlearn_core.audit.run import AuditResult

    result = AuditResult.from_dict(json.loads((rep / "report.json").read_text())["result"])
    v = result.verdict_for("finetune")
    return v.status.upper(), f"finetune: {v.headline}"


def test_the_pdf_embeds_its_report_and_verifies(report, capsys):
    from unlearn_core.report.pdf_embed import read_pdf

    pdf = read_pdf(report / "report.pdf")
    payload = json.loads((report / "report.json").read_text())
    assert [json.loads(a) for a in pdf.attachments] == [payload]
    assert pdf.hash_entry == payload["content_sha256"]
    status, line = _headline(report)
    assert line in " ".join(pdf.text.split())
    code, out, err = _verify(capsys, str(report / "report.pdf"), "--no-rerun")
    assert code == 0, err
    assert "ok: report.pdf: its verdict lines, status words and figures are those of the " \
           "report it embeds" in out
    assert "follows exactly from the per-sample evidence" in out


@pytest.fixture(scope="module")
def edited_pdf(report, tmp_path_factory) -> Path:
    """The forger edits the page's verdict to PASS and prints it: the original report stays
    embedded (the page's own), the visible verdict line no longer says what it says."""
    from unlearn_core.report import write_pdf

    folder = tmp_path_factory.mktemp("forged")
    status, line = _headline(report)
    page = (report / "report.html").read_text(encoding="utf-8")
    assert page.count(line) >= 1 and status != "PASS"
    page = page.replace(line, "finetune: PASS: 8 of 8 checks pass")
    row = re.search(r"<tr><td>finetune</td><td>forget accuracy</td><td>[^<]*</td><td>"
                    r"([^<]+)</td>", page)  # and the forget accuracy in the check table
    page = page[:row.start(1)] + "99.9%" + page[row.end(1):]
    edited = folder / "edited.html"
    edited.write_text(page, encoding="utf-8")
    pdf = write_pdf(edited, folder / "report.pdf")
    (folder / "figure.txt").write_text(row.group(1))
    return pdf


def test_pdf_printed_from_an_edited_page_fails(report, edited_pdf, capsys):
    status, line = _headline(report)
    page = (report / "report.html").read_text(encoding="utf-8")
    code, _, err = _verify(capsys, str(edited_pdf), "--no-rerun")
    assert code == 1
    assert f"report.pdf: shows 'finetune: PASS' where its embedded report says " \
           f"'finetune: {status}'" in err
    n = page.count(line)  # every place the page shows the verdict line
    found = re.search(r"report.pdf: shows 'PASS' (\d+) times where its embedded report "
                      r"renders it (\d+) times", err)
    assert found
    shown, rendered = map(int, found.groups())
    assert shown - rendered == n
    figure = (edited_pdf.parent / "figure.txt").read_text()
    assert "report.pdf: its pages lack figures its embedded report renders: " in err
    assert f"'{figure}' (shown " in err


def _flip(payload: dict) -> None:
    for v in payload["result"]["verdicts"]:
        v["status"] = "pass"
        for c in v["checks"]:
            c["status"] = "pass"
            c["powered"] = True


def test_pdf_with_its_embedded_json_edited_fails(report, tmp_path, capsys):
    from unlearn_core.report.pdf_embed import embed_report

    status, _ = _headline(report)
    forged = tmp_path / "report.pdf"
    shutil.copy(report / "report.pdf", forged)
    payload = json.loads((report / "report.json").read_text())
    _flip(payload)  # the hash not recomputed
    embed_report(forged, payload)
    code, _, err = _verify(capsys, str(forged), "--no-rerun")
    assert code == 1
    assert "report content was edited: its SHA-256 does not match" in err
    assert f"report.pdf: shows 'finetune: {status}' where its embedded report says " \
           "'finetune: PASS'" in err


def test_pdf_with_its_embedded_json_edited_and_rehashed_fails(report, tmp_path, capsys):
    from unlearn_core.report.pdf_embed import embed_report

    status, _ = _headline(report)
    forged = tmp_path / "report.pdf"
    shutil.copy(report / "report.pdf", forged)
    payload = json.loads((report / "report.json").read_text())
    _flip(payload)
    payload["content_sha256"] = content_hash(payload)
    embed_report(forged, payload)
    code, _, err = _verify(capsys, str(forged), "--no-rerun")
    assert code == 1
    assert "report content was edited" not in err
    assert f"report.pdf: shows 'finetune: {status}' where its embedded report says " \
           "'finetune: PASS'" in err
    assert f"finetune: the recorded verdict says pass, its recorded figures judge to " \
           f"{status.lower()}" in err


def test_pdf_hash_entry_of_another_report_fails(report, tmp_path, capsys):
    from pypdf import PdfReader, PdfWriter

    forged = tmp_path / "report.pdf"
    writer = PdfWriter(clone_from=PdfReader(str(report / "report.pdf")))
    writer.add_metadata({"/AuditReportSHA256": "0" * 64})
    writer.write(str(forged))
    code, _, err = _verify(capsys, str(forged), "--no-rerun")
    assert code == 1
    assert f"report.pdf: its hash entry ({'0' * 64}) is not the embedded report's content " \
           "hash" in err


def test_pdf_without_an_embedded_report_is_one_line(report, tmp_path, capsys):
    from pypdf import PdfReader, PdfWriter

    bare = tmp_path / "old.pdf"
    writer = PdfWriter()
    for page in PdfReader(str(report / "report.pdf")).pages:
        writer.add_page(page)
    writer.write(str(bare))
    code, _, err = _verify(capsys, str(bare), "--no-rerun")
    assert code == 2
    assert err.strip() == f"error: '{bare}' embeds no audit report (printed by an earlier " \
                          "release?): verify its report.json"
    (tmp_path / "junk.pdf").write_bytes(b"not a pdf at all")
    code, _, err = _verify(capsys, str(tmp_path / "junk.pdf"), "--no-rerun")
    assert code == 2
    assert "is not a readable PDF" in err


def test_signing_updates_the_pdf(report, tmp_path, capsys):
    folder = tmp_path / "signed"
    shutil.copytree(report, folder)
    assert main(["keygen", "--out", str(tmp_path / "k.key")]) == 0
    assert main(["sign", str(folder / "report.json"), "--key", str(tmp_path / "k.key")]) == 0
    code, out, err = _verify(capsys, str(folder / "report.pdf"), "--no-rerun", "--public-key",
                             str(tmp_path / "k.pub"))
    assert code == 0, err
    assert "signature valid over the content hash" in out


def test_a_bundle_carries_its_pdf_and_checks_it(report, edited_pdf, tmp_path, capsys):
    import zipfile

    assert main(["bundle", str(report / "report.json"), "--out", str(tmp_path / "b.zip")]) == 0
    with zipfile.ZipFile(tmp_path / "b.zip") as zf:
        assert "report.pdf" in zf.namelist()
    code, out, err = _verify(capsys, str(tmp_path / "b.zip"), "--no-rerun")
    assert code == 0, err
    assert "ok: report.pdf: its verdict lines, status words and figures are those of the " \
           "report it embeds" in out
    forged = tmp_path / "forged"
    shutil.copytree(report, forged)
    shutil.copy(edited_pdf, forged / "report.pdf")
    assert main(["bundle", str(forged / "report.json"), "--out", str(tmp_path / "f.zip")]) == 0
    status, _ = _headline(report)
    code, _, err = _verify(capsys, str(tmp_path / "f.zip"), "--no-rerun")
    assert code == 1
    assert f"report.pdf: shows 'finetune: PASS' where its embedded report says " \
           f"'finetune: {status}'" in err

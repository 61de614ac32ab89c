"""``verify`` fails fast and stays robust (issue 22): a difference it can find in seconds is
reported without re-running the audit, the re-run is its announced last step, and hostile files
(a FIFO, a file over the size limit, numbers out of range, deep nesting, a chromium that cannot
start) are one line with exit 2, never a wait or a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from unlearn_core.cli.main import main
from unlearn_core.errors import ConfigError
from unlearn_core.report import build_json_report, content_hash
from unlearn_core.verify import rerun as rerun_step
from unlearn_core.verify.last_step import RERUN_NOTICE
from unlearn_core.verify.run import verify_report


@pytest.fixture(scope="module")
def report(small_run, tmp_path_factory) -> Path:
    """A small recorded report (wine, two methods) with its per-sample evidence."""
    path = tmp_path_factory.mktemp("robust") / "report.json"
    path.write_text(json.dumps(build_json_report(small_run.result), indent=1))
    return path


@pytest.fixture
def no_audit(monkeypatch):
    """``run_audit`` of the re-run step replaced by one that fails the test if called."""
    def refuse(*args, **kwargs):
        raise AssertionError("verify re-ran the audit")

    monkeypatch.setattr(rerun_step, "run_audit", refuse)


def _rewritten(report: Path, tmp_path: Path, edit, rehash: bool = True) -> Path:
    payload = json.loads(report.read_text())
    edit(payload)
    if rehash:
        payload["content_sha256"] = content_hash(payload)
    out = tmp_path / "edited.json"
    out.write_text(json.dumps(payload))
    return out


def _one_line_exit_2(capsys, *argv: str) -> str:
    code = main(["verify", *argv, "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    return err


def test_a_tampered_figure_is_reported_without_re_running(report, tmp_path, no_audit, capsys):
    def edit(p):
        p["result"]["methods"][0]["accuracy"]["test"] = 0.5
    forged = _rewritten(report, tmp_path, edit)
    told: list[str] = []
    outcome = verify_report(forged, rerun=True, announce=told.append)
    assert any("test accuracy recorded 0.5000" in d for d in outcome.differences)
    assert told == []  # the re-run never started
    assert any(w.startswith("not re-run: the earlier steps found") for w in outcome.warnings)
    assert main(["verify", str(forged), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "test accuracy recorded 0.5000" in err and "re-running the audit" not in err


def test_an_edited_hash_is_reported_without_re_running(report, tmp_path, no_audit):
    def edit(p):
        p["result"]["methods"][0]["accuracy"]["test"] = 0.5
    edited = _rewritten(report, tmp_path, edit, rehash=False)
    outcome = verify_report(edited, rerun=True)
    assert any("SHA-256 does not match" in d for d in outcome.differences)


class _Started(Exception):
    pass


def test_the_re_run_is_announced_and_comes_last(report, monkeypatch, capsys):
    told: list[str] = []

    def fake_audit(*args, **kwargs):
        assert told == [RERUN_NOTICE]  # said before it starts
        raise _Started

    monkeypatch.setattr(rerun_step, "run_audit", fake_audit)
    with pytest.raises(_Started):
        verify_report(report, rerun=True, announce=told.append)
    with pytest.raises(_Started):  # the CLI says it on stderr when it starts
        main(["verify", str(report), "--quiet"])
    assert "re-running the audit (last step)" in capsys.readouterr().err


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", ["report.json", "report.html", "report.pdf", "report.zip"])
def test_a_fifo_is_refused_at_once(tmp_path, capsys, name):
    fifo = tmp_path / name
    os.mkfifo(fifo)
    assert "not a regular file" in _one_line_exit_2(capsys, str(fifo), "--no-rerun")


@pytest.mark.timeout(30)
def test_a_fifo_public_key_is_refused_at_once(report, tmp_path, capsys):
    fifo = tmp_path / "auditor.pub"
    os.mkfifo(fifo)
    err = _one_line_exit_2(capsys, str(report), "--no-rerun", "--public-key", str(fifo))
    assert "not a regular file" in err


@pytest.mark.timeout(30)
def test_an_artifact_that_is_a_fifo_is_a_difference_not_a_wait(report, tmp_path):
    fifo = tmp_path / "weights.safetensors"
    os.mkfifo(fifo)

    def edit(p):
        p["reproducibility"]["artifacts"] = [{"name": "m.safetensors", "path": str(fifo),
                                              "sha256": "0" * 64}]
    outcome = verify_report(_rewritten(report, tmp_path, edit), rerun=False)
    assert any("is not a regular file" in d for d in outcome.differences)


def test_a_report_over_the_size_limit_is_refused_before_reading(tmp_path, capsys):
    from unlearn_core.report.envelope import MAX_REPORT_BYTES

    for name in ("report.json", "report.html", "report.pdf"):
        huge = tmp_path / name
        with huge.open("wb") as fh:  # sparse: no disk, and reading it would take 256 MiB
            fh.truncate(MAX_REPORT_BYTES + 1)
        assert "over the limit of 256 MiB" in _one_line_exit_2(capsys, str(huge), "--no-rerun")


@pytest.mark.parametrize("edit, what", [
    (lambda p: p["result"].__setitem__("n_forget", 10 ** 400), "whole number of 401 digits"),
    (lambda p: p["result"]["measurements"][0].__setitem__("figure", float("inf")),
     "bare Infinity"),
    (lambda p: p["result"]["methods"][0]["accuracy"].__setitem__("test", float("nan")),
     "bare NaN"),
])
def test_numbers_no_report_writes_are_malformed(report, tmp_path, capsys, edit, what):
    forged = _rewritten(report, tmp_path, edit, rehash=False)
    err = _one_line_exit_2(capsys, str(forged), "--no-rerun")
    assert "is malformed" in err and what in err


def test_a_number_out_of_range_is_malformed(report, tmp_path, capsys):
    text = report.read_text().replace('"n_test": ', '"n_test": 1e400, "was": ', 1)
    forged = tmp_path / "range.json"
    forged.write_text(text)
    assert "out of range" in _one_line_exit_2(capsys, str(forged), "--no-rerun")


def test_an_infinite_share_written_as_a_string_is_a_difference_not_a_crash(report, tmp_path):
    def edit(p):
        p["result"]["methods"][0]["accuracy"]["forget"] = "Infinity"
    outcome = verify_report(_rewritten(report, tmp_path, edit), rerun=False)
    assert any("is no share" in d for d in outcome.differences)


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deep_nesting_is_malformed(report, tmp_path, capsys, depth):
    text = report.read_text().rstrip()
    assert text.endswith("}")
    forged = tmp_path / "deep.json"
    forged.write_text(text[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}")
    err = _one_line_exit_2(capsys, str(forged), "--no-rerun")
    assert "is malformed" in err and "nests deeper" in err
    page = tmp_path / "deep.html"  # the same inside an HTML page
    page.write_text('<script type="application/json" id="audit-report">'
                    + forged.read_text() + "</script>")
    assert "nests deeper" in _one_line_exit_2(capsys, str(page), "--no-rerun")


def test_a_broken_block_is_malformed_not_a_traceback(report, tmp_path, capsys):
    def edit(p):
        p["reproducibility"]["artifacts"] = [7]
    forged = _rewritten(report, tmp_path, edit)
    assert "is malformed" in _one_line_exit_2(capsys, str(forged), "--no-rerun")
    with pytest.raises(ConfigError, match="result and reproducibility blocks"):
        verify_report(_rewritten(report, tmp_path, lambda p: p.__setitem__("result", [])),
                      rerun=False)


@pytest.mark.timeout(60)
def test_a_pdf_is_checked_without_starting_a_browser(report, tmp_path, monkeypatch):
    """The PDF's text is compared with the page rendered again: no chromium needed, so one that
    cannot start changes nothing (it used to leave verify waiting)."""
    import re

    from unlearn_core.audit.run import AuditResult
    from unlearn_core.report.build import render_html
    from unlearn_core.report.envelope import visible_text
    from unlearn_core.verify.rendering import compare_pdf
    from unlearn_core.verify.result import VerifyResult

    broken = tmp_path / "chromium"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setenv("BROWSER_PATH", str(broken))
    payload = json.loads(report.read_text())
    page = visible_text(re.sub(r"<title>.*?</title>", "", render_html(
        AuditResult.from_dict(payload["result"]), None, payload), count=1, flags=re.S))
    printed = " ".join(page.canonical(s) for s in page.order)  # what a PDF shows
    out = VerifyResult()
    compare_pdf(printed, payload["content_sha256"], payload, out)
    assert out.differences == []

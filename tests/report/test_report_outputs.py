"""What the reports and tables write (issue 22): the speed-up cell is a dash where no speed-up
applies, never "None"; reports are written whole or not at all."""

from __future__ import annotations

import json

import pytest

import unlearn_core.serialize as serialize
from unlearn_core.errors import ConfigError
from unlearn_core.report import write_reports
from unlearn_core.report.table import audit_table, speed_cell, speed_up
from unlearn_core.serialize import write_files_atomic


def test_speed_up_only_for_methods(small_run):
    result = small_run.result
    cells = {e.name: (e.role, speed_cell(e, result.retrain.seconds))
             for e in result.evaluations()}
    for name, (role, cell) in cells.items():
        if role == "method":
            assert cell.endswith("x") and float(cell[:-1]) >= 0, name
        else:
            assert cell == "\u2013", name
    assert {role for role, _ in cells.values()} >= {"baseline", "retrain", "method"}
    assert speed_up(result.baseline, result.retrain.seconds) is None
    table = audit_table(result)
    assert "None" not in table
    rows = {line.split()[0]: line.split()[-1] for line in table.splitlines()[2:]}
    assert rows["baseline"] == "-" and rows["retrain"] == "-"


def test_files_are_written_all_or_none(tmp_path):
    first = tmp_path / "report.json"
    first.write_text("old")
    with pytest.raises(OSError):
        write_files_atomic({first: "new", tmp_path / "missing" / "report.html": "page"})
    assert first.read_text() == "old"  # the first was staged, never renamed over the old one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]
    write_files_atomic({first: "new", tmp_path / "report.html": "page"})
    assert first.read_text() == "new" and (tmp_path / "report.html").read_text() == "page"


def test_a_report_the_disk_refuses_is_one_config_error_and_keeps_the_old_one(
        tmp_path, small_run, monkeypatch):
    old = {"earlier": "report"}
    (tmp_path / "report.json").write_text(json.dumps(old))
    real_open = open

    def full(path, mode="r", *a, **k):
        fh = real_open(path, mode, *a, **k)
        if "x" in mode and ".report.html." in str(path):
            fh.close()
            raise OSError(27, "File too large")
        return fh

    monkeypatch.setattr(serialize, "open", full, raising=False)
    with pytest.raises(ConfigError, match=r"cannot write the reports in .*: File too large "
                                          r"\(nothing was written\)"):
        write_reports(small_run.result, tmp_path, small_run, [], pdf=False)
    assert json.loads((tmp_path / "report.json").read_text()) == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_a_report_without_pdf_removes_an_earlier_audits_pdf(small_run, tmp_path):
    stale = tmp_path / "report.pdf"
    stale.write_bytes(b"%PDF-1.4 another audit")
    paths = write_reports(small_run.result, tmp_path, small_run, [], pdf=False)
    assert "pdf" not in paths and not stale.exists()
    assert (tmp_path / "report.json").exists() and (tmp_path / "report.html").exists()

"""``verify`` grades the recorded figures again (``verify/rejudge.py``, ``checks.levels``): a
level of assurance or a distance from retraining edited in a report, its hash recomputed, is a
difference (issue 26)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from unlearn_core.report import build_json_report, content_hash
from unlearn_core.verify.run import verify_report


@pytest.fixture(scope="module")
def report(small_run, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("levels") / "report.json"
    path.write_text(json.dumps(build_json_report(small_run.result), indent=1))
    return path


def _rehashed(report: Path, tmp_path: Path, edit) -> Path:
    payload = json.loads(report.read_text())
    edit(payload["result"]["verdicts"][0]["grade"])
    payload["content_sha256"] = content_hash(payload)  # a forger who also fixes the hash
    out = tmp_path / "forged.json"
    out.write_text(json.dumps(payload))
    return out


def test_rejudge_finds_the_untouched_grades_again(report):
    assert verify_report(report, rerun=False).differences == []


def test_rejudge_catches_a_level_raised_in_the_report(report, tmp_path):
    def raise_level(g):
        g["level"], g["blockers"] = 1, []
    found = verify_report(_rehashed(report, tmp_path, raise_level), rerun=False).differences
    assert any("the recorded grade says level 1: indistinguishable from retraining" in d
               for d in found)


def test_rejudge_catches_a_distance_from_retraining_edited_in_the_report(report, tmp_path):
    def nearer(g):
        g["gap"] = g["gap"] / 10
    found = verify_report(_rehashed(report, tmp_path, nearer), rerun=False).differences
    assert any("the recorded distance from retraining is" in d for d in found)


def test_rejudge_notes_a_report_without_grades(report, tmp_path):
    payload = json.loads(report.read_text())
    for v in payload["result"]["verdicts"]:
        del v["grade"]
    payload["content_sha256"] = content_hash(payload)
    path = tmp_path / "older.json"
    path.write_text(json.dumps(payload))
    out = verify_report(path, rerun=False)
    assert out.differences == [] and any("no level of assurance" in n for n in out.notes)

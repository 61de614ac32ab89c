"""``verify`` grades the recorded figures again (``verify/rejudge.py``, ``checks.levels``): a
level of assurance or a distance from retraining edited in a report, its hash recomputed, is a
difference (issue 26)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from unlearn_core.report import build_json_report, content_hash
from unlearn_core.verify.run import verify_report
from unlearn_core.version import JUDGE_RULES


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


def _edited(report: Path, tmp_path: Path, rules) -> Path:
    """The report with its first verdict's grade and statement of assurance changed, judged
    under ``rules`` (None: not recorded, an earlier release), its hash recomputed."""
    payload = json.loads(report.read_text())
    v = payload["result"]["verdicts"][0]
    v["grade"]["level"], v["grade"]["blockers"] = 1, []
    v["qualifier"] = "" if v.get("qualifier") else "outputs only"
    versions = payload["result"]["versions"]
    assert versions["judge_rules"] == str(JUDGE_RULES)  # today's results record their rules
    if rules is None:
        del versions["judge_rules"]
    else:
        versions["judge_rules"] = rules
    payload["content_sha256"] = content_hash(payload)
    out = tmp_path / f"rules-{rules}.json"
    out.write_text(json.dumps(payload))
    return out


def test_assurance_judged_under_earlier_rules_is_a_note_with_todays_reading(report, tmp_path):
    # a report judged before halfway power (rules 1, or none recorded) may read its statement
    # of assurance and grade otherwise than today's rules: verify says so, with today's
    # reading, but does not call it an edit; under today's rules the same change is a difference
    for rules in (None, "1"):
        out = verify_report(_edited(report, tmp_path, rules), rerun=False)
        assert out.differences == [], out.differences
        assert any(f"judged under the verdict's rules 1, before today's {JUDGE_RULES}" in n
                   for n in out.notes)
        assert any("the recorded grade says level 1" in n for n in out.notes)
    found = verify_report(_edited(report, tmp_path, str(JUDGE_RULES)), rerun=False).differences
    assert any("the recorded grade says level 1" in d for d in found)
    assert any("not ruling out" in d for d in found)


def test_a_status_judged_under_earlier_rules_is_judged_again_under_them(small_run, tmp_path):
    """Rules 3: a check without power no longer fails a model on the less-forgotten side. A
    report judged under rules 2 with such a fail verifies (its statuses are judged again under
    the rules it recorded) and verify says how today's rules read it; recorded as rules 3, the
    same fail is a difference."""
    import copy
    import dataclasses

    from unlearn_core.audit.run import judge_audit
    from unlearn_core.checks.judge import judging_rules

    result = copy.deepcopy(small_run.result)
    method = result.methods[0].name
    from unlearn_core.checks import proportion_se

    refs = [m.model for m in result.measurements
            if m.check == "mia_efficacy" and m.role == "reference"]
    # retrains at 38 to 40 of the n forget samples, doing nothing in their band, the method far
    # below it: on the less-forgotten side (MIA-efficacy's forgotten side is high)
    hits = {name: 38 + i % 3 for i, name in enumerate(refs)}

    def edited(m):
        k = 39 if m.role == "control" else 0 if m.model == method else hits[m.model]
        return dataclasses.replace(m, figure=k / m.n, se=proportion_se(k, m.n))
    result.measurements = [
        edited(m) if m.check == "mia_efficacy" and (m.role in ("control", "reference")
                                                    or m.model == method) else m
        for m in result.measurements]
    result.evidence = None  # the per-sample scores would give other figures: set aside
    for rules, expect in (("2", "fail"), ("3", "no power")):
        with judging_rules(int(rules)):
            result.verdicts = judge_audit(result, result.config.thresholds)
        result.versions = {**result.versions, "judge_rules": rules}
        check = next(c for c in result.verdicts[0].checks if c.check == "mia_efficacy")
        assert check.status == expect and result.verdicts[0].method == method
        path = tmp_path / f"rules{rules}.json"
        path.write_text(json.dumps(build_json_report(result), indent=1))
        out = verify_report(path, rerun=False)
        assert out.differences == [], out.differences
        if rules == "2":
            assert any(n.startswith(f"{method}: judged ") and "under rules 2; today's rules "
                       "read" in n and "MIA-efficacy fail -> no power" in n
                       for n in out.notes), out.notes
            two = json.loads(path.read_text())
    two["result"]["versions"]["judge_rules"] = "3"  # claimed: judged under rules 3
    two["content_sha256"] = content_hash(two)
    path.write_text(json.dumps(two))
    found = verify_report(path, rerun=False).differences
    assert any(f"{method}: check MIA-efficacy recorded fail at 0, its figures give no power"
               in d for d in found), found

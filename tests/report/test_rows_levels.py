"""The grade of each verdict (``checks.levels``) through the one row builder: the rows carry the
level and the ranking figure, the command line's table and the HTML report rank by them, and
the JSON report records them (issue 26)."""

from __future__ import annotations

import json

from unlearn_core.audit.run import AuditResult
from unlearn_core.checks.levels import Grade
from unlearn_core.report import build_json_report, render_html
from unlearn_core.report.rows import RANKING_COLUMNS, closest_line, ranked, verdict_rows
from unlearn_core.report.table import verdict_table


def test_every_audited_verdict_is_graded_and_its_row_carries_level_and_gap(small_run):
    rows = verdict_rows(small_run.result.verdicts)
    assert rows and all(isinstance(r.grade, Grade) for r in rows)
    for v, r in zip(small_run.result.verdicts, rows):
        assert r.grade is v.grade
        assert r.level == (str(v.grade.level) if v.grade.level else "none")
        assert r.gap.startswith(f"{v.grade.gap:.2f}")
        cells = r.ranking_cells()
        assert list(cells) == list(RANKING_COLUMNS)
        assert cells["assurance level"] == v.grade.label
    # the plain pass is level 1 and nothing else is (the same rule, folded twice)
    assert all((v.grade.level == 1) == v.plain_pass for v in small_run.result.verdicts)


def test_ranked_puts_the_strictest_level_first_then_the_smallest_gap(small_run):
    rows = verdict_rows(small_run.result.verdicts)
    order = ranked(rows)
    keys = [(r.grade.level or 9, r.grade.gap) for r in order]
    assert keys == sorted(keys)
    assert closest_line(rows).startswith(f"Closest to retraining: {order[0].method}, ")


def test_the_cli_table_and_the_html_report_show_the_ranking_in_order(small_run):
    order = [r.method for r in ranked(verdict_rows(small_run.result.verdicts))]
    text = verdict_table(small_run.result.verdicts)
    ranking = text[text.index("ranking, closest to retraining first"):].splitlines()
    listed = [line.split()[0] for line in ranking[3:3 + len(order)]]
    assert listed == order
    page = render_html(small_run.result)
    assert "Closest to retraining" in page
    table = page.index("<th>distance from retraining</th>")  # the verdict section's ranking
    at = [page.index(f"<td>{m}</td>", table) for m in order]
    assert at == sorted(at)
    words = page.index('<ol class="ranking">')  # page one: the same order, in words
    at = [page.index(f"<li>{m}: ", words) for m in order]
    assert at == sorted(at)


def test_the_json_report_records_the_grade_and_reads_it_back(small_run):
    payload = build_json_report(small_run.result)
    recorded = payload["result"]["verdicts"]
    for v, d in zip(small_run.result.verdicts, recorded):
        assert d["grade"]["level"] == v.grade.level and d["grade"]["gap"] == v.grade.gap
        assert d["grade"]["blockers"] == v.grade.blockers
    back = AuditResult.from_dict(json.loads(json.dumps(payload["result"])))
    assert [v.grade for v in back.verdicts] == [v.grade for v in small_run.result.verdicts]

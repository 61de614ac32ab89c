"""The verdict rows builder (``unlearn_core.report.rows``): the one place that decides which
checks a verdict lists, in which order, how many more there are and of which status, and how
figures, intervals and bands read; the front ends only render its rows."""

from __future__ import annotations

import math
from types import SimpleNamespace

from unlearn_core.checks.judge import CheckResult
from unlearn_core.checks.verdict import Verdict, VerdictThresholds, fold
from unlearn_core.report.rows import (
    COLUMNS,
    band_phrase,
    check_row,
    check_rows,
    deciding_checks,
    deciding_lines,
    verdict_rows,
)

nan, inf = math.nan, math.inf


def check(title, status, *, unit="%", lo=0.1, hi=0.3, powered=True, figure=0.2, control=0.9,
          kind="forgetting", n=50):
    return CheckResult(
        check=title, title=title, model="m", kind=kind, status=status, figure=figure, se=0.01,
        n=n, ci_low=figure - 0.02, ci_high=figure + 0.02, band_low=lo, band_high=hi,
        band_source="5 retrains' spread", reference_mean=0.2, reference_sd=0.05, k=5,
        control=control, powered=powered, power_margin=1.0, over_forgetting=False,
        low_resolution=False, reason=f"why {title}", unit=unit)


def test_a_failing_check_is_listed_before_uncertain_and_passing_ones():
    v = fold("m", [check("ok", "pass"), check("unsure", "uncertain"), check("bad", "fail")])
    assert v.status == "fail"
    assert [c.title for c in deciding_checks(v)] == ["bad", "unsure"]  # the pass is not listed
    lines = deciding_lines(v)
    assert lines[0].startswith("bad: fail, 20.0% (retrain band 10.0% to 30.0%; the untouched "
                               "original 90.0%)")
    assert lines[1].startswith("unsure: uncertain, ")
    assert len(lines) == 2  # nothing left over: no "and N more"


def test_the_and_n_more_line_names_the_status_of_the_checks_left_over():
    # issue 22: "and 1 more fail check(s)" where the remaining check was uncertain
    v = fold("m", [check(f"f{i}", "fail") for i in range(3)] + [check("u", "uncertain")])
    assert deciding_lines(v)[-1] == "and 1 more uncertain check(s) in the detail"
    only_uncertain = fold("m", [check(f"u{i}", "uncertain") for i in range(5)])
    assert only_uncertain.status == "uncertain"
    assert deciding_lines(only_uncertain)[-1] == "and 2 more uncertain check(s) in the detail"
    fails = fold("m", [check(f"f{i}", "fail") for i in range(5)])
    assert deciding_lines(fails)[-1] == "and 2 more fail check(s) in the detail"


def test_an_uncertain_check_is_not_counted_as_a_fail_when_both_are_left_over():
    v = fold("m", [check(f"f{i}", "fail") for i in range(4)] +
             [check("u1", "uncertain"), check("u2", "uncertain")])
    lines = deciding_lines(v, limit=3)
    assert [line.split(":")[0] for line in lines[:3]] == ["f0", "f1", "f2"]
    assert lines[3] == "and 1 more fail and 2 more uncertain check(s) in the detail"
    assert len(lines) == 4


def test_a_pass_lists_only_powered_passes_and_an_inconclusive_verdict_what_lacked_power():
    v = Verdict("m", "pass", [check("unpowered", "pass", powered=False),
                              check("utility", "pass", powered=None, kind="utility"),
                              check("p1", "pass"), check("p2", "pass")])
    assert [c.title for c in deciding_checks(v)] == ["p1", "p2"]
    inconclusive = Verdict("m", "inconclusive", [
        check("nd", "no data", figure=nan, lo=nan, hi=nan, control=nan),
        check("np1", "no power", powered=False), check("ok", "pass", powered=None),
        check("np2", "no power", powered=False)])
    assert [c.title for c in deciding_checks(inconclusive)] == ["np1", "np2", "nd"]
    assert deciding_lines(inconclusive, limit=2)[-1] == \
        "and 1 more no data check(s) in the detail"
    assert deciding_lines(inconclusive)[-1] == \
        "nd: no data, n/a (no band; the untouched original n/a)"


def test_band_phrases_for_two_sided_one_sided_and_missing_bands():
    assert band_phrase(check("a", "pass")) == "retrain band 10.0% to 30.0%"
    assert band_phrase(check("a", "pass", lo=-inf, hi=0.5)) == "retrain band: at most 50.0%"
    assert band_phrase(check("a", "pass", lo=0.1, hi=inf)) == "retrain band: at least 10.0%"
    assert band_phrase(check("a", "pass", lo=nan, hi=nan)) == "no band"
    assert band_phrase(check("a", "pass", unit="", lo=0.1, hi=0.3)) == \
        "retrain band 0.100 to 0.300"


def test_a_check_row_formats_figures_once_and_renders_each_front_ends_way():
    row = check_row("m", check("forget accuracy", "fail", figure=0.25, control=0.98))
    assert (row.figure, row.ci_low, row.ci_high, row.original) == \
        ("25.0%", "23.0%", "27.0%", "98.0%")
    assert row.interval() == "23.0% to 27.0%" and row.interval("..") == "23.0%..27.0%"
    assert row.band() == "10.0% to 30.0%" and row.band("..", none="-") == "10.0%..30.0%"
    assert row.status_word() == "fail" and row.status_word(shout_fail=True) == "FAIL"
    assert row.power() == "yes" and row.n == 50
    bandless = check_row("m", check("scenario", "uncertain", unit="", lo=nan, hi=nan,
                                    powered=None, n=0))
    assert bandless.band() == "n/a to n/a" and bandless.band(none="–") == "–"
    assert bandless.status_word(shout_fail=True) == "uncertain"  # only a fail is shouted
    assert bandless.power() == "–" and bandless.power("-") == "-"
    assert check_row("m", check("x", "no power", powered=False)).power() == "no"
    cells = row.cells()
    assert list(cells) == list(COLUMNS)
    assert cells["reason"] == "why forget accuracy" and cells["band from"] == "5 retrains' spread"
    picked = row.cells(["n", "check", "status"], shout_fail=True)
    assert picked == {"n": 50, "check": "forget accuracy", "status": "FAIL"}


def test_verdict_rows_keep_the_method_order_and_every_check_in_order():
    a = fold("alpha", [check("c1", "pass"), check("c2", "fail")])
    b = fold("beta", [check("c3", "pass")])
    rows = verdict_rows([a, b])
    assert [r.method for r in rows] == ["alpha", "beta"]
    assert rows[0].status == "fail" and rows[0].headline == a.headline
    assert rows[0].reason == a.reason and rows[1].deciding == tuple(deciding_lines(b))
    assert [(c.method, c.check) for c in check_rows(rows)] == \
        [("alpha", "c1"), ("alpha", "c2"), ("beta", "c3")]
    assert verdict_rows(None) == [] and verdict_rows([]) == []


def test_the_front_ends_render_the_builders_rows():
    from unlearn_core.cli.text import verdict_lines
    from unlearn_core.report.build import _verdict_section
    from unlearn_core.report.table import verdict_table

    v = fold("m", [check("forget accuracy", "fail", figure=0.25),
                   check("inversion", "uncertain", unit="", lo=nan, hi=nan, powered=None)])
    text = verdict_table([v])
    assert f"m: {v.headline}. {v.reason}" in text
    table = text.split("\n\n", 1)[1].splitlines()  # the headlines, a blank line, the table
    fail_line = next(line for line in table if "forget accuracy" in line)
    assert " FAIL " in fail_line and "23.0%..27.0%" in fail_line and "10.0%..30.0%" in fail_line
    bandless = next(line for line in table if "inversion" in line)
    assert " uncertain " in bandless and " - " in bandless and "n/a..n/a" not in bandless
    result = SimpleNamespace(verdicts=[v], ensembles=[], warnings=[],
                             config=SimpleNamespace(thresholds=VerdictThresholds()))
    page = _verdict_section(result)
    assert "<td>23.0% to 27.0%</td>" in page and "<td>–</td>" in page
    assert "<td>fail</td>" in page and "<td>FAIL</td>" not in page
    lines = verdict_lines(SimpleNamespace(verdicts=[v], retrains=[1, 2], control_powered=True),
                          checks=True)
    assert lines[:2] == [f"verdict m: {v.headline}", f"  {v.reason}"]
    assert lines[2] == ("  - fail       forget accuracy: 25.0% [23.0%, 27.0%], band 10.0% to "
                        "30.0%, original 90.0%")
    assert "band n/a to n/a" in lines[3]

"""The report says why each threshold is what it is, in the audit's own numbers."""

from __future__ import annotations

import copy

from unlearn_core.checks.judge import FAIL_STRICTER, MIN_SAMPLES, critical_level
from unlearn_core.report.build import render_html, thresholds_explained


def test_thresholds_are_explained_with_the_audits_numbers(small_run):
    res = small_run.result
    lines = thresholds_explained(res)
    m = max(len(v.checks) for v in res.verdicts)
    k = res.ensembles[0].k
    text = " ".join(lines)
    assert f"alpha = {res.config.thresholds.alpha:g}" in text
    assert f"split over its {m} checks" in text
    assert f"{critical_level(m, res.config.thresholds.alpha):.4f}" in text
    assert f"where {k} retrains from scratch land" in text
    assert f"{FAIL_STRICTER} times smaller" in text and f"fewer than {MIN_SAMPLES}" in text
    assert "Fixed limits" not in text
    html = render_html(res, small_run)
    assert "Why the thresholds are what they are" in html and f"split over its {m} checks" in html


def test_a_fixed_limit_and_another_alpha_are_named(small_run):
    run = copy.deepcopy(small_run.result)
    run.config.thresholds.alpha = 0.01
    run.config.thresholds.overrides["membership_auc"] = 0.1
    text = " ".join(thresholds_explained(run))
    assert "alpha = 0.01" in text
    assert "Fixed limits set by the auditor" in text and "membership_auc = 0.1" in text

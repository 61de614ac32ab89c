"""Intervals and bands stay in their figure's range (issue 22): a share's in [0, 1] (0% to 100%),
an AUC's in [0, 1], a one-sided band of a share ends at 0% or 100% rather than at infinity, and
the charts' accuracy axes stay within 0 to 100%. The clipping changes no decision: pass, fail,
uncertain, no power and low resolution are those of the unclipped judge."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest

from unlearn_core.checks import auc_se, proportion_se
from unlearn_core.checks.base import Measurement
from unlearn_core.checks.judge import CheckSpec, figure_range, judge

SHARE = CheckSpec("forget_accuracy", "forget accuracy", "forgetting", "both", "low", "%")
KEPT = CheckSpec("retain_accuracy", "retain accuracy", "utility", "low", "", "%")
AUC = CheckSpec("membership_auc", "membership AUC", "forgetting", "both", "low", "",
                bounds=(0.0, 1.0))
FREE = (-math.inf, math.inf)


def _share(k: int, n: int, model: str = "m", role: str = "method") -> Measurement:
    return Measurement(SHARE.name, model, role, k / n, proportion_se(k, n), n)


def _refs(ks, n):
    return [_share(k, n, f"retrain#{i}", "reference") for i, k in enumerate(ks)]


def _inside(lo: float, hi: float, rng=(0.0, 1.0)) -> bool:
    return rng[0] <= lo <= hi <= rng[1]


def test_a_share_near_zero_has_an_interval_and_band_from_zero():
    """The forget accuracy of a forgotten class: 0 of 60, retrains at 0 to 2 of 60."""
    r = judge(SHARE, _share(0, 60), _refs([0, 1, 0, 2, 1, 0], 60), _share(58, 60), 4)
    assert r.ci_low == 0.0 and 0 < r.ci_high < 1
    assert r.band_low == 0.0 and _inside(r.band_low, r.band_high)
    assert "-" not in re.sub(r"n=\d+", "", r.reason.split("(interval")[1].split(")")[0])


def test_a_share_near_one_stays_below_one():
    r = judge(SHARE, _share(59, 60), _refs([60, 58, 59, 60, 57, 59], 60), _share(1, 60), 4)
    assert r.ci_high == 1.0 and r.band_high == 1.0 and _inside(r.ci_low, r.ci_high)
    assert "100.0%" in r.reason and not re.search(r"10[1-9]\.\d%|1[1-9]\d\.\d%", r.reason)


def test_a_one_sided_share_band_ends_at_100_percent_not_infinity():
    r = judge(KEPT, _share(93, 100), _refs([95, 94, 96, 95], 100), None, 4)
    assert r.band_high == 1.0 and r.band_low < r.figure
    assert "inf" not in r.reason


def test_an_auc_interval_stays_in_zero_one():
    n_pos, n_neg = 40, 300
    refs = [Measurement(AUC.name, f"retrain#{i}", "reference", a, auc_se(a, n_pos, n_neg), n_pos)
            for i, a in enumerate([0.96, 0.99, 0.97, 0.98])]
    r = judge(AUC, Measurement(AUC.name, "m", "method", 0.99, auc_se(0.99, 12, 30), 12), refs,
              None, 6)
    assert r.ci_high <= 1.0 and r.band_high <= 1.0 and r.ci_low >= 0.0
    assert figure_range(AUC) == (0.0, 1.0)
    assert figure_range(SHARE) == (0.0, 1.0)
    assert figure_range(CheckSpec("x", "x")) == FREE


def test_clipping_changes_no_decision():
    """Random shares near the ends of their range, judged with and without the range: the same
    status, power and resolution flag; the intervals equal wherever they were inside already."""
    rng = np.random.default_rng(0)
    changed_interval = 0
    for _ in range(400):
        n = int(rng.integers(8, 200))
        centre = float(rng.choice([0.02, 0.5, 0.97]))
        ks = np.clip(rng.binomial(n, centre, size=int(rng.integers(2, 8))), 0, n)
        k = int(np.clip(rng.binomial(n, float(rng.choice([centre, 1 - centre]))), 0, n))
        control = _share(int(rng.integers(0, n + 1)), n, "baseline", "control")
        for spec in (SHARE, KEPT):
            free = dataclasses.replace(spec, bounds=FREE)
            a = judge(spec, _share(k, n), _refs(ks, n), control, 6)
            b = judge(free, _share(k, n), _refs(ks, n), control, 6)
            assert (a.status, a.powered, a.low_resolution, a.over_forgetting) == \
                (b.status, b.powered, b.low_resolution, b.over_forgetting)
            assert a.power_margin == pytest.approx(b.power_margin, nan_ok=True)
            assert _inside(a.ci_low, a.ci_high)
            if _inside(b.ci_low, b.ci_high):
                assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
            else:
                changed_interval += 1
    assert changed_interval > 0  # the random cases did reach beyond the range


def test_an_audit_keeps_every_interval_band_and_axis_in_range(small_run):
    from unlearn_core.charts.audit import accuracy_bars, per_class_bars
    from unlearn_core.charts.verdict import check_across_models, verdict_figure
    from unlearn_core.report.rows import check_rows, verdict_rows

    res = small_run.result
    specs = {s.name: s for s in res.check_specs}
    for v in res.verdicts:
        for c in v.checks:
            if c.check in specs and figure_range(specs[c.check]) == (0.0, 1.0):
                for lo, hi in ((c.ci_low, c.ci_high), (c.band_low, c.band_high)):
                    if not (math.isnan(lo) or math.isnan(hi)):
                        assert _inside(lo, hi), (v.method, c.check, lo, hi)
    cells = " ".join(" ".join(str(x) for x in row.cells(["interval", "retrain band"]).values())
                     for row in check_rows(verdict_rows(res.verdicts)))
    assert "inf" not in cells
    assert all(0.0 <= float(p) <= 100.0 for p in re.findall(r"(-?\d+\.\d)%", cells))
    assert list(accuracy_bars(res).layout.yaxis.range) == [0, 100]
    assert list(per_class_bars(res).layout.yaxis.range) == [0, 100]
    for v in res.verdicts:
        fig = verdict_figure(v)
        for axis in (fig.layout[k] for k in fig.layout if k.startswith("xaxis")):
            if axis.ticksuffix == "%":
                assert 0 <= axis.range[0] <= axis.range[1] <= 100
    across = check_across_models(res, "forget_accuracy")
    assert list(across.layout.yaxis.range) == [0, 100]
    for trace in across.data:
        top = trace.y[0] + (trace.error_y.array[0] if trace.error_y.array else 0)
        bottom = trace.y[0] - (trace.error_y.arrayminus[0] if trace.error_y.arrayminus else 0)
        assert -1e-9 <= bottom <= top <= 100 + 1e-9

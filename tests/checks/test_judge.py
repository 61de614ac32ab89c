"""The judge and the verdict on synthetic measurements: bands from the retrains' spread,
intervals, power from the do-nothing control, one-sided checks, user thresholds, Bonferroni,
and the folding into pass / fail / uncertain / inconclusive. No training: exact arithmetic."""

import math

import numpy as np
import pytest
from scipy import stats

from unlearn_core.checks import auc_se, proportion_se
from unlearn_core.checks.base import Measurement
from unlearn_core.checks.judge import CheckSpec, band, critical_level, judge
from unlearn_core.checks.verdict import VerdictThresholds, fold

SPEC = CheckSpec("forget_accuracy", "forget accuracy", "forgetting", "both", "low", "%")


def _m(figure, se=0.0, model="m", role="method", n=100):
    return Measurement("forget_accuracy", model, role, figure, se, n)


def _refs(values, se=0.0):
    return [_m(v, se, f"retrain#{i}", "reference") for i, v in enumerate(values)]


def test_band_is_the_prediction_band_of_the_retrains_widened_by_sampling_error():
    values = [0.10, 0.12, 0.11, 0.13, 0.09]
    q = critical_level(1)
    lo, hi, mean, sd, k, source = band(SPEC, _refs(values), q)
    half = stats.t.ppf(q, 4) * np.std(values, ddof=1) * math.sqrt(1 + 1 / 5)
    assert k == 5 and mean == pytest.approx(0.11)
    assert (lo, hi) == pytest.approx((0.11 - half, 0.11 + half))
    assert "5 retrains" in source
    # sampling error of the retrains' figures widens the band (in quadrature)
    lo2, hi2, *_ = band(SPEC, _refs(values, se=0.02), q)
    extra = stats.norm.ppf(q) * 0.02
    assert hi2 - 0.11 == pytest.approx(math.hypot(half, extra))


def test_bonferroni_widens_the_band_with_the_number_of_checks():
    refs = _refs([0.10, 0.12, 0.11, 0.13, 0.09])
    one = band(SPEC, refs, critical_level(1))
    eight = band(SPEC, refs, critical_level(8))
    assert eight[1] - eight[0] > one[1] - one[0]


def test_pass_fail_uncertain_and_power():
    refs = _refs([0.00, 0.01, 0.02, 0.01, 0.00, 0.01], se=0.01)
    original = _m(0.98, 0.01, "baseline", "control")
    inside = judge(SPEC, _m(0.01, 0.01), refs, original, 1)
    assert inside.status == "pass" and inside.powered is True and inside.power_margin > 10
    far = judge(SPEC, _m(0.60, 0.02), refs, original, 1)
    assert far.status == "fail" and not far.over_forgetting
    assert "less forgotten" in far.reason
    near = judge(SPEC, _m(inside.band_high + 0.01, 0.05), refs, original, 1)
    assert near.status == "uncertain" and near.ci_low < near.band_high < near.figure
    # the untouched original inside the band: the check has no power, never "pass"
    weak = judge(SPEC, _m(0.01, 0.01), refs, _m(0.015, 0.01, "baseline", "control"), 1)
    assert weak.status == "no power" and weak.powered is False
    assert "cannot tell doing nothing from retraining" in weak.reason


def test_over_forgetting_is_named_on_the_forgotten_side():
    refs = _refs([0.50, 0.52, 0.49, 0.51], se=0.01)
    r = judge(SPEC, _m(0.0, 0.001), refs, _m(1.0, 0.0, "baseline", "control"), 1)
    assert r.status == "fail" and r.over_forgetting
    assert "more forgotten than retraining" in r.reason


def test_without_power_a_check_fails_only_on_the_forgotten_side():
    """MIA-efficacy style (forgotten side high): doing nothing lands in the band, so a figure
    far below it says nothing about the data being kept (no power, not fail); far above it is
    over-forgetting, measured against the retrains alone, and still fails."""
    mia = CheckSpec("mia_efficacy", "MIA-efficacy", "forgetting", "both", "high", "%")
    refs = _refs([0.85, 0.86, 0.84, 0.85, 0.86, 0.84], se=0.01)
    original = _m(0.855, 0.01, "baseline", "control")
    under = judge(mia, _m(0.40, 0.01), refs, original, 1)
    assert under.status == "no power" and not under.over_forgetting
    assert "less-forgotten side" in under.reason
    over = judge(mia, _m(0.99, 0.005), refs, original, 1)
    assert over.status == "fail" and over.over_forgetting
    # with power the same low figure fails: doing nothing lies beyond the band on that side
    powered = judge(mia, _m(0.40, 0.01), refs, _m(0.10, 0.01, "baseline", "control"), 1)
    assert powered.status == "fail" and powered.powered
    # a check without a forgotten side (closeness to the retrains' outputs) keeps its fails
    dist = CheckSpec("output_divergence", "JS", "forgetting", "high")
    far = judge(dist, _m(0.9, 0.01), _refs([0.05, 0.07, 0.06, 0.08]), _m(0.07, 0.01), 1)
    assert far.status == "fail"


def test_utility_checks_fail_only_below_and_closeness_only_above():
    util = CheckSpec("retain_accuracy", "retain accuracy", "utility", "low", "", "%")
    refs = _refs([0.90, 0.91, 0.92, 0.90])
    assert judge(util, _m(1.0), refs, None, 1).status == "pass"
    assert judge(util, _m(0.5), refs, None, 1).status == "fail"
    assert judge(util, _m(0.5), refs, None, 1).powered is None  # utility: no power notion
    dist = CheckSpec("output_divergence", "JS", "forgetting", "high")
    refs = _refs([0.05, 0.07, 0.06, 0.08])
    assert judge(dist, _m(0.0), refs, _m(0.9, 0.01), 1).status == "pass"
    assert judge(dist, _m(0.9, 0.01), refs, _m(0.9, 0.01), 1).status == "fail"


def test_a_user_threshold_replaces_the_band_and_says_so():
    refs = _refs([0.10, 0.30])
    r = judge(SPEC, _m(0.26), refs, _m(0.9, 0.01), 1, threshold=0.05)
    assert (r.band_low, r.band_high) == pytest.approx((0.15, 0.25))
    assert r.status == "fail" and "threshold set by the user" in r.band_source


def test_one_retrain_cannot_give_a_band():
    r = judge(SPEC, _m(0.1), _refs([0.1]), _m(0.9), 1)
    assert r.status == "no data" and "at least 2" in r.reason


def test_verdict_folding_and_headline():
    refs = _refs([0.00, 0.01, 0.02, 0.01], se=0.01)
    ctrl = _m(0.98, 0.01, "baseline", "control")
    good = judge(SPEC, _m(0.01, 0.01), refs, ctrl, 2)
    weak = judge(SPEC, _m(0.01, 0.01), refs, _m(0.01, 0.01), 2)
    bad = judge(SPEC, _m(0.9, 0.01), refs, ctrl, 2)
    unsure = judge(SPEC, _m(good.band_high + 0.005, 0.05), refs, ctrl, 2)
    assert fold("m", [good, weak]).status == "pass"
    assert fold("m", [good, weak]).headline == "PASS: 1 of 2 checks pass; 1 without power"
    assert fold("m", [weak, weak]).status == "inconclusive"
    assert "raise the power" in fold("m", [weak]).reason
    assert fold("m", [good, bad]).status == "fail"
    assert fold("m", [good, unsure]).status == "uncertain"
    assert not fold("m", [good, unsure]).passed


def test_standard_errors_match_their_formulas():
    # Hanley & McNeil at A = 0.5 with n1 = n2 = 108 (the evaluation reference's table: 0.039)
    assert auc_se(0.5, 108, 108) == pytest.approx(0.039, abs=0.001)
    assert auc_se(0.9, 30, 30) == pytest.approx(0.042, abs=0.002)
    assert proportion_se(0, 100) > 0  # Agresti-Coull: never zero at the edges
    assert proportion_se(50, 100) == pytest.approx(0.0490, abs=0.001)


def test_thresholds_accept_check_names_and_old_names():
    t = VerdictThresholds().update({"mia_auc_gap": "0.1", "alpha": "0.01"})
    assert t.overrides == {"membership_auc": 0.1} and t.alpha == 0.01
    from unlearn_core.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown verdict threshold"):
        VerdictThresholds().update({"nope": "1"})
    with pytest.raises(ConfigError, match="non-negative"):
        VerdictThresholds().update({"forget_accuracy": "nan"})


def test_log_scale_checks_are_judged_on_log_figures_and_reported_back():
    spec = CheckSpec("forget_loss", "loss", "forgetting", "both", "high", "", "", "log")
    values = [20.0, 25.0, 30.0, 28.0, 22.0]
    refs = [Measurement("forget_loss", f"r{i}", "reference", v, 0.5, 100)
            for i, v in enumerate(values)]
    ctrl = Measurement("forget_loss", "baseline", "control", 0.01, 0.001, 100)
    r = judge(spec, Measurement("forget_loss", "m", "method", 26.0, 0.5, 100), refs, ctrl, 1)
    logs = np.log(values)
    assert r.reference_mean == pytest.approx(math.exp(logs.mean()))  # geometric mean
    assert r.band_low < 20.0 and r.band_high > 30.0 and r.band_low > 0
    assert r.figure == 26.0 and r.status == "pass" and r.powered
    forged = judge(spec, Measurement("forget_loss", "m", "method", 1e4, 1.0, 100), refs, ctrl, 1)
    assert forged.status == "fail" and forged.over_forgetting and "log scale" in forged.band_source


def test_failing_needs_a_ten_times_stricter_band_than_passing():
    """Just outside the pass band with a tight interval is uncertain, not fail; far outside
    fails."""
    refs = _refs([0.10, 0.12, 0.11, 0.13, 0.09, 0.11])
    q = critical_level(1)
    lo, hi, *_ = band(SPEC, refs, q)
    f_lo, f_hi, *_ = band(SPEC, refs, 1 - (1 - q) / 10)
    assert f_hi > hi
    between = judge(SPEC, _m((hi + f_hi) / 2, 1e-6), refs, _m(0.9, 0.01), 1)
    assert between.status == "uncertain"
    beyond = judge(SPEC, _m(f_hi + 0.01, 1e-6), refs, _m(0.9, 0.01), 1)
    assert beyond.status == "fail"
    # power: doing nothing could not pass (the original's interval clears the pass band)
    strong = judge(SPEC, _m(0.11, 0.01), refs, _m((hi + f_hi) / 2, 1e-6), 1)
    assert strong.powered is True and strong.status == "pass"
    weak_control = judge(SPEC, _m(0.11, 0.01), refs, _m(hi + 1e-3, 0.01), 1)
    assert weak_control.powered is False and weak_control.status == "no power"

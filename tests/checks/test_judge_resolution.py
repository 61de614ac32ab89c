"""The low-resolution flag rests on the samples each check measures (issue 22): a utility
check on hundreds of retain samples is not "cannot decide reliably" because the forget set is
small, or because the retrains agree to a fraction of a point."""

from unlearn_core.audit.run import small_set_warning
from unlearn_core.checks.base import Measurement
from unlearn_core.checks.judge import MIN_SAMPLES, CheckSpec, judge
from unlearn_core.checks.verdict import fold

RETAIN = CheckSpec("retain_accuracy", "retain accuracy", "utility", "low", "", "%")
FORGET = CheckSpec("forget_accuracy", "forget accuracy", "forgetting", "both", "low", "%")


def _m(spec, figure, se, n, model="m", role="method"):
    return Measurement(spec.name, model, role, figure, se, n)


def _tight_refs(spec, n):
    """Retrains that agree to 0.1 point: a band far narrower than one model's interval."""
    return [_m(spec, 0.990 + 0.0005 * (i % 3), 0.003, n, f"retrain#{i}", "reference")
            for i in range(6)]


def test_a_utility_check_on_many_samples_is_not_low_resolution():
    r = judge(RETAIN, _m(RETAIN, 0.990, 0.003, 1000), _tight_refs(RETAIN, 1000), None, 8)
    assert r.status == "pass"
    # its interval is wider than the (one-sided) band's reach: what used to flag it
    assert r.ci_high - r.ci_low > 1.5 * (r.reference_mean - r.band_low)
    assert not r.low_resolution


def test_a_utility_check_on_few_samples_is_low_resolution_by_its_own_n():
    r = judge(RETAIN, _m(RETAIN, 0.95, 0.04, MIN_SAMPLES - 8), _tight_refs(RETAIN, 22), None, 8)
    assert r.low_resolution


def test_a_forgetting_check_still_flags_few_samples_and_wide_intervals():
    refs = [_m(FORGET, 0.10 + 0.01 * i, 0.01, 400, f"retrain#{i}", "reference")
            for i in range(6)]
    control = _m(FORGET, 0.99, 0.01, 400, "baseline", "control")
    few = judge(FORGET, _m(FORGET, 0.12, 0.05, 12), refs, control, 8)
    wide = judge(FORGET, _m(FORGET, 0.12, 0.20, 400), refs, control, 8)
    sharp = judge(FORGET, _m(FORGET, 0.12, 0.005, 400), refs, control, 8)
    assert few.low_resolution and wide.low_resolution and not sharp.low_resolution


def test_the_warning_names_each_weak_check_with_its_own_n():
    weak = judge(RETAIN, _m(RETAIN, 0.95, 0.04, 22), _tight_refs(RETAIN, 22), None, 8)
    strong = judge(RETAIN, _m(RETAIN, 0.990, 0.003, 1000), _tight_refs(RETAIN, 1000), None, 8)
    verdict = fold("m", [weak, strong])
    [line] = small_set_warning(43, [verdict])
    assert "retain accuracy (n=22)" in line and line.count("(n=") == 1
    assert small_set_warning(43, [fold("m", [strong])]) == []

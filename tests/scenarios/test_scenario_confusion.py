"""The Interclass Confusion test as a verification scenario of the audit (``--checks
confusion``): a genuine retrain with another seed passes, a lookup forgery that keeps the
planted confusion fails, and the verdict folds the failure in."""

from __future__ import annotations

import math

import pytest

from tests.checks.test_inside_support import one_thread  # noqa: F401
from unlearn_core import AuditConfig, MethodSpec, run_audit
from unlearn_core.checks.verdict import VerdictThresholds
from unlearn_core.errors import ConfigError
from unlearn_core.scenarios.checks import CHECKS, confusion_tolerance, validate_checks
from unlearn_core.scenarios.confusion import ConfusionResult

# the module's audit trains for tens of seconds: handed to a worker first (tests/conftest.py)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def confusion_run():
    cfg = AuditConfig(dataset="digits", model="cnn", forget="class:3", seed=0,
                      methods=[MethodSpec("retrain", {"seed": 11}), MethodSpec("forged")],
                      checks=["confusion"], reference_seeds=3)
    return run_audit(cfg).result


def test_genuine_passes_and_lookup_forgery_fails(confusion_run):
    by = {c.method: c for c in confusion_run.checks if c.name == "confusion"}
    assert len(by) == 2
    genuine = next(c for m, c in by.items() if m.startswith("retrain"))
    forged = by["forged"]
    assert genuine.passed, genuine.reason
    assert not forged.passed, forged.reason
    assert forged.figure > forged.reference + forged.threshold
    assert "more than" in forged.reason and "doing nothing" in forged.reason
    verdict = {v.method: v for v in confusion_run.verdicts}["forged"]
    assert verdict.status == "fail"
    assert any(c.check == "confusion" and c.status == "fail" for c in verdict.checks)


def test_tolerance_widens_with_sampling_error_only():
    def res(after, retrain, n):
        return ConfusionResult("m", 0, 1, 10, 0.0, 0.5, after, retrain, 0.0, 0.0,
                               after - retrain, 0.0, n)
    assert confusion_tolerance(res(0.0, 0.0, 50), 0.05) == pytest.approx(0.05)
    wide = confusion_tolerance(res(0.3, 0.2, 20), 0.05)
    assert wide == pytest.approx(2 * math.sqrt((0.3 * 0.7 + 0.2 * 0.8) / 20))
    assert confusion_tolerance(res(0.3, 0.2, 2000), 0.05) == pytest.approx(0.05)


def test_confusion_is_a_known_scenario_and_gap_is_settable():
    assert "confusion" in CHECKS
    validate_checks(["confusion"])
    t = VerdictThresholds().update({"confusion_gap": "0.1"})
    assert t.confusion_gap == pytest.approx(0.1)
    with pytest.raises(ConfigError, match="confusion_gap"):
        VerdictThresholds().update({"nope": "1"})

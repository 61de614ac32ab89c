"""Verification scenarios as checks of an audit: each runs per method, is judged against
retraining, lands in the verdict, the JSON round trip, the report and the command line."""

import pytest

from tests.conftest import registered_no_op
from unlearn_core import AuditConfig, AuditResult, MethodSpec, run_audit

# the module's audit trains for tens of seconds: handed to a worker first (tests/conftest.py)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def checked_run():
    cfg = AuditConfig(dataset="digits", model="mlp", forget="class:3", seed=0,
                      methods=[MethodSpec("random_label"), MethodSpec("test_no_op_checks")],
                      checks=["inversion", "backdoor", "restor"])
    with registered_no_op("test_no_op_checks"):
        yield run_audit(cfg)


def _check(result, name, method):
    return next(c for c in result.checks if c.name == name and c.method == method)


def test_every_check_runs_per_method_and_judges_against_retrain(checked_run):
    res = checked_run.result
    assert {(c.name, c.method) for c in res.checks} == {
        (n, m) for n in ("inversion", "backdoor", "restor")
        for m in ("random_label", "test_no_op_checks")}
    # retraining leaks the forgotten class to an attacker holding both models: first guess
    assert _check(res, "inversion", "random_label").reference == 0
    # a method that does nothing leaves no trace of what was asked: no guess better than retrain
    noop_inv = _check(res, "inversion", "test_no_op_checks")
    assert noop_inv.passed and noop_inv.figure > 0
    # ...but it keeps the planted trigger and the corrupted labels, and the scenarios catch it
    assert not _check(res, "backdoor", "test_no_op_checks").passed
    assert _check(res, "backdoor", "test_no_op_checks").figure > 0.8
    assert not _check(res, "restor", "test_no_op_checks").passed
    assert _check(res, "backdoor", "random_label").passed
    assert _check(res, "restor", "random_label").figure > _check(
        res, "restor", "test_no_op_checks").figure


def test_checks_enter_the_verdict_the_json_and_the_report(checked_run):
    from unlearn_core.report import render_html

    res = checked_run.result
    noop = next(v for v in res.verdicts if v.method == "test_no_op_checks")
    names = {c.name: c.passed for c in noop.checks}
    assert names["backdoor"] is False and names["restor"] is False and not noop.passed
    back = AuditResult.from_dict(res.to_dict())
    assert [(c.name, c.method, c.passed) for c in back.checks] == [
        (c.name, c.method, c.passed) for c in res.checks]
    page = render_html(res, checked_run)
    section = page[page.index("<h2>Verification attacks</h2>"):]
    assert "backdoor" in section and "FAIL" in section and "restor" in section


def test_unknown_check_is_refused_in_one_line(capsys):
    from unlearn_core.cli.main import main

    code = main(["audit", "--dataset", "wine", "--model", "mlp", "--checks", "inversion,nope",
                 "--no-store", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "unknown check 'nope'" in err and "backdoor" in err


def test_verify_compares_the_checks(checked_run):
    import dataclasses

    from unlearn_core.verify.rerun import compare_results
    from unlearn_core.verify.result import VerifyResult

    old = checked_run.result
    same = VerifyResult()
    compare_results(old, AuditResult.from_dict(old.to_dict()), same)
    assert not same.differences
    edited = AuditResult.from_dict(old.to_dict())
    edited.checks[0] = dataclasses.replace(edited.checks[0], figure=edited.checks[0].figure + 1)
    out = VerifyResult()
    compare_results(edited, old, out)
    assert len(out.differences) == 1 and f"check {old.checks[0].name}" in out.differences[0]

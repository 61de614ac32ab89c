"""An honest statement of assurance (issue 21): a pass says which forgery families it rules out
and which it could not, and where no check able to see output suppression has power the pass is
qualified "outputs only" (never a plain PASS), in the verdict, the command line's table, the
HTML report and ``verify``. Folded from synthetic checks, then on digits cnn class 0 with three
reference retrains, where the probe's band reaches the untouched original's figure."""

from __future__ import annotations

import copy
import math
from types import SimpleNamespace

import pytest

from tests.checks.test_inside_support import class3_zoo, one_thread  # noqa: F401
from tests.conftest import registered_model
from unlearn_core import AuditConfig, MethodSpec, run_audit
from unlearn_core.audit.data import AuditData
from unlearn_core.audit.run import AuditResult
from unlearn_core.checks.judge import CheckResult
from unlearn_core.checks.verdict import OUTPUTS_ONLY, check_families, fold
from unlearn_core.data.forget import resolve_forget
from unlearn_core.models import build_model, train_epochs
from unlearn_core.report import render_html
from unlearn_core.report.rows import verdict_rows
from unlearn_core.report.table import verdict_table
from unlearn_core.store.db import overall_verdict
from unlearn_core.verify.rejudge import rejudge
from unlearn_core.verify.result import VerifyResult

PROBE = "Few-shot probe on the features"


def _checked(check: str, status: str, powered, title: str = "") -> CheckResult:
    nan = math.nan
    return CheckResult(check=check, title=title or check, model="m", kind="forgetting",
                       status=status, figure=0.5, se=0.01, n=100, ci_low=0.48, ci_high=0.52,
                       band_low=0.4, band_high=0.6, band_source="test", reference_mean=0.5,
                       reference_sd=0.02, k=6, control=0.9, powered=powered,
                       power_margin=nan, over_forgetting=False, low_resolution=False,
                       reason=f"{check} {status}")


def test_a_pass_no_inside_check_supports_is_qualified_outputs_only():
    families = check_families()
    v = fold("m", [_checked("forget_loss", "pass", True),
                   _checked("probe", "no power", False, PROBE)], families)
    assert v.status == "pass" and v.qualifier == OUTPUTS_ONLY and not v.plain_pass
    assert v.headline.startswith("PASS (OUTPUTS ONLY): 1 of 2 checks pass")
    assert v.ruled_out == ["nothing"] and v.not_ruled_out == ["suppression", "dormant"]
    assert "output suppression is not ruled out" in v.reason and PROBE in v.reason
    assert "Does not rule out output suppression" in v.assurance
    # the probe could not run at all (no hidden layer): named with its reason
    v = fold("m", [_checked("forget_loss", "pass", True)], families,
             {"probe": "the model has no hidden layer"})
    assert v.qualifier == OUTPUTS_ONLY and "the model has no hidden layer" in v.reason


def test_a_powered_inside_pass_rules_suppression_out():
    families = check_families()
    v = fold("m", [_checked("forget_loss", "pass", True), _checked("probe", "pass", True)],
             families)
    assert v.status == "pass" and v.qualifier == "" and v.plain_pass
    assert v.ruled_out == ["nothing", "suppression"] and v.not_ruled_out == ["dormant"]
    assert v.headline.startswith("PASS: 2 of 2 checks pass")
    v = fold("m", [_checked("forget_loss", "pass", True), _checked("probe", "pass", True),
                   _checked("relearn", "pass", True)], families)
    assert v.not_ruled_out == [] and v.plain_pass
    # relearning alone does not see a re-fitted head: without the probe the pass stays qualified
    v = fold("m", [_checked("forget_loss", "pass", True), _checked("probe", "no power", False),
                   _checked("relearn", "pass", True)], families)
    assert v.qualifier == OUTPUTS_ONLY and v.ruled_out == ["nothing", "dormant"]
    assert v.not_ruled_out == ["suppression"]
    # a fail states no assurance; a track that does not say what its checks see gets none
    v = fold("m", [_checked("forget_loss", "fail", True), _checked("probe", "no power", False)],
             families)
    assert v.status == "fail" and v.qualifier == "" and v.assurance == ""
    v = fold("m", [_checked("forget_loss", "pass", True)])
    assert v.status == "pass" and v.qualifier is None and v.headline.startswith("PASS: ")


def test_what_each_check_rules_out_comes_from_the_registry():
    families = check_families()
    assert families["probe"] == ("suppression",) and families["relearn"] == ("dormant",)
    assert families["forget_loss"] == () and families["output_divergence"] == ()
    assert set(families["exact"]) == {"suppression", "dormant"}


GENUINE = "test_given_class0_retrain"


@pytest.fixture(scope="module")
def class0():
    """Digits cnn, class 0, three reference retrains: the probe has no power (its band
    reaches the untouched original's figure); a genuine retrain (seed 900001) and the
    calibrated-bias and calibrated-head forgeries, on the session's original (it does not
    depend on the request)."""
    zoo = class3_zoo()
    cfg = AuditConfig(dataset="digits", model="cnn", forget="class:0", seed=0,
                      executor="serial", reference_seeds=3,
                      methods=[MethodSpec(GENUINE),
                               MethodSpec("forge_calibrated_bias", {"retrains": 2}),
                               MethodSpec("forge_calibrated_head", {"retrains": 2})])
    data = zoo.ctx.data
    fs = resolve_forget(data.dataset, data.splits, "class:0", 0)
    retain = AuditData(data.dataset, data.splits, fs).retain
    genuine = train_epochs(build_model(zoo.uctx.spec, seed=900_001), retain,
                           zoo.uctx.train_config, 900_001)
    with registered_model(GENUINE, genuine):
        return run_audit(cfg, baseline=zoo.original).result


def test_no_power_inside_gives_the_qualified_verdict_for_genuine_and_forged(class0):
    verdicts = {v.method: v for v in class0.verdicts}
    probe = next(c for c in verdicts[GENUINE].checks if c.check == "probe")
    assert probe.status == "no power" and probe.powered is False
    g = verdicts[GENUINE]
    assert g.status == "pass" and g.qualifier == OUTPUTS_ONLY, g.reason
    assert "output suppression is not ruled out" in g.reason
    # a bias that a few fine-tuning steps undo: relearning fails it where the probe is blind
    bias = verdicts["forge_calibrated_bias:retrains=2"]
    relearn = next(c for c in bias.checks if c.check == "relearn")
    assert bias.status == "fail" and relearn.status == "fail" and relearn.powered, bias.reason
    # a head re-fitted on retain features relearns no faster than a retrain: never a plain pass
    head = verdicts["forge_calibrated_head:retrains=2"]
    assert not head.plain_pass and head.qualifier in (OUTPUTS_ONLY, ""), head.headline
    assert head.status != "pass" or "suppression" in head.not_ruled_out


def test_the_table_and_the_report_say_outputs_only(class0):
    rows = {r.method: r for r in verdict_rows(class0.verdicts)}
    assert rows[GENUINE].qualifier == OUTPUTS_ONLY and not rows[GENUINE].plain_pass
    table = verdict_table(class0.verdicts)
    assert f"{GENUINE}: PASS (OUTPUTS ONLY)" in table
    assert "Does not rule out output suppression" in table
    genuine = [v for v in class0.verdicts if v.method == GENUINE]
    assert overall_verdict(SimpleNamespace(verdicts=genuine)) == "pass (outputs only)"  # runs
    page = render_html(class0)
    assert f"{GENUINE}: PASS (OUTPUTS ONLY)" in page and "verdict-qualified" in page
    assert "does not rule out output suppression" in page.lower()


def test_verify_folds_the_qualifier_again(class0):
    recorded = AuditResult.from_dict(class0.to_dict())
    v = next(x for x in recorded.verdicts if x.method == GENUINE)
    assert v.qualifier == OUTPUTS_ONLY  # recorded and read back
    out = VerifyResult()
    rejudge(recorded, out)
    assert out.ok, out.differences
    edited = copy.deepcopy(recorded)
    e = next(x for x in edited.verdicts if x.method == GENUINE)
    e.qualifier, e.not_ruled_out = "", ["dormant"]  # a plain pass, suppression "ruled out"
    out = VerifyResult()
    rejudge(edited, out)
    assert any(GENUINE in d and "outputs only" in d for d in out.differences), out.differences
    earlier = copy.deepcopy(recorded)  # an earlier release recorded no statement: not flagged
    for x in earlier.verdicts:
        x.qualifier = None
    out = VerifyResult()
    rejudge(earlier, out)
    assert out.ok, out.differences

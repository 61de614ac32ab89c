"""The calibrated verdict on real audits: a genuine retrain with another seed passes, doing
nothing fails where a check has power and is inconclusive where none has, SISA is judged
against SISA, two runs of one method keep their own models, membership uses same-class
controls and unclipped scores, and an edited verdict does not verify."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from tests.conftest import canary_digits, registered_no_op
from unlearn_core import AuditConfig, MethodSpec, run_audit
from unlearn_core.audit.run import AuditResult
from unlearn_core.checks.membership import class_matched_weights
from unlearn_core.models import TrainConfig

# the module's audit trains for tens of seconds: handed to a worker first (tests/conftest.py)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def known_models():
    """A no-op registered for the module's audits (the genuine control is retrain:seed=N)."""
    with registered_no_op("test_no_op_verdict"):
        yield


@pytest.fixture(scope="module")
def class_run(known_models):
    cfg = AuditConfig(dataset="digits", model="cnn", forget="class:3", seed=0,
                      executor="serial",  # the default 6 retrains, cached across the tests
                      methods=[MethodSpec("retrain", {"seed": "12345"}),
                               MethodSpec("test_no_op_verdict"),
                               MethodSpec("finetune", {"epochs": "1"}),
                               MethodSpec("finetune", {"epochs": "4"})])
    return run_audit(cfg)


def _verdict(run, label):
    return next(v for v in run.result.verdicts if v.method == label)


def test_genuine_retrain_passes_and_doing_nothing_fails(class_run):
    good = _verdict(class_run, "retrain:seed=12345")
    assert good.status == "pass", good.reason
    assert good.headline.startswith("PASS: ")
    bad = _verdict(class_run, "test_no_op_verdict")
    assert bad.status == "fail"
    failed = {c.check for c in bad.checks if c.status == "fail"}
    assert {"forget_accuracy", "forgotten_class_accuracy"} <= failed
    fa = next(c for c in bad.checks if c.check == "forget_accuracy")
    assert fa.powered and fa.k == 6 and fa.n == class_run.result.n_forget
    assert fa.ci_low <= fa.figure <= fa.ci_high and fa.band_low < fa.band_high
    assert "6 retrains" in fa.band_source


def test_every_model_has_its_own_label_and_figures(class_run):
    res = class_run.result
    labels = [e.name for e in res.methods]
    assert labels == ["retrain:seed=12345", "test_no_op_verdict", "finetune:epochs=1",
                      "finetune:epochs=4"]
    assert [e.method for e in res.methods][-2:] == ["finetune", "finetune"]
    m1, m4 = (next(m for m in res.measurements if m.check == "forget_accuracy" and m.model == x)
              for x in labels[-2:])
    assert m1.figure != m4.figure  # each row carries its own model's figures
    assert class_run.models["finetune:epochs=1"] is not class_run.models["finetune:epochs=4"]
    js = {c.name: c.js_forget for c in res.closeness}
    assert js["finetune:epochs=1"] != js["finetune:epochs=4"]
    assert [v.method for v in res.verdicts] == labels
    assert len([e for e in res.references if e.reference_group == "retrain"]) == 6


def test_membership_uses_same_class_controls_and_unclipped_scores(class_run):
    res = class_run.result
    w = class_matched_weights(np.array([3, 3, 3]), np.array([1, 3, 5, 3]))
    assert list(w) == [0.0, 0.5, 0.0, 0.5]
    refs = [m for m in res.measurements if m.check == "membership_auc" and m.role == "reference"]
    # retrains never saw class 3: forget vs unseen class-3 samples is a coin flip, not 0.5
    # exactly (clipped scores all tie) and not ~0.04 (mixing classes)
    assert all(0.25 < m.figure < 0.75 for m in refs)
    assert len({round(m.figure, 6) for m in refs}) > 1
    loss = [m.figure for m in res.measurements if m.check == "forget_loss" and m.role ==
            "reference"]
    assert min(loss) > 5  # unclipped: far beyond log(1e-12) = 27.6 is possible, and varies
    assert len(set(np.round(loss, 3))) == len(loss)


def test_a_large_logit_bias_fails_as_over_forgetting(class_run):
    """Keeping every weight and pushing class 3's logit to -1e4 leaves a forget-set loss no
    retrain shows: the two-sided loss check names it over-forgetting."""
    from unlearn_core.audit.run import measure_checks
    from unlearn_core.checks import CheckContext
    from unlearn_core.checks.judge import judge
    from unlearn_core.models.io import clone_model

    forged = clone_model(class_run.models["baseline"])
    forged.head.bias.data[3] -= 1e4
    res = class_run.result
    ctx = CheckContext(class_run.data, class_run.models["baseline"], [], 0)
    from unlearn_core.checks import CHECKS

    m = CHECKS["forget_loss"]().measure(forged, ctx)
    refs = [x for x in res.measurements if x.check == "forget_loss" and x.role == "reference"]
    ctrl = next(x for x in res.measurements if x.check == "forget_loss" and x.role == "control")
    spec = next(s for s in res.check_specs if s.name == "forget_loss")
    r = judge(spec, m, refs, ctrl, len(res.check_specs))
    assert r.status == "fail" and r.over_forgetting and m.figure > 1000
    assert measure_checks  # the stage the audit uses is importable for such re-runs


def test_random_forgetting_without_memorisation_is_inconclusive(known_models):
    cfg = AuditConfig(dataset="digits", model="logreg", forget="random:0.1", seed=1,
                      executor="serial", reference_seeds=4,
                      methods=[MethodSpec("test_no_op_verdict")])
    res = run_audit(cfg).result
    v = res.verdicts[0]
    assert v.status == "inconclusive", v.reason
    assert "raise the power" in v.reason
    assert all(c.status in ("no power", "pass") for c in v.checks)
    assert all(c.powered is False for c in v.checks if c.kind == "forgetting")


def test_canaries_give_the_checks_power(known_models):
    """With 30% flipped labels members memorise their labels: doing nothing fails a powered
    check and a genuine retrain passes (the default flow of the README has such power)."""
    data = canary_digits(0)
    keep = np.arange(800)  # a smaller set that a longer recipe memorises quickly
    data = dataclasses.replace(data, X=data.X[keep], y=data.y[keep], ids=data.ids[keep])
    cfg = AuditConfig(dataset="digits", model="mlp", forget="random:0.1", seed=0,
                      executor="serial", reference_seeds=4,
                      train=TrainConfig(epochs=120, lr=2e-3),
                      methods=[MethodSpec("retrain", {"seed": "12345"}),
                               MethodSpec("test_no_op_verdict")])
    res = run_audit(cfg, dataset=data).result
    assert res.baseline.accuracy.retain > 0.98  # the flipped labels are memorised
    good, bad = res.verdicts
    assert good.status == "pass", good.reason
    assert bad.status == "fail"
    assert any(c.status == "fail" and c.powered for c in bad.checks)


def test_sisa_is_judged_against_sisa_and_shown_exact():
    cfg = AuditConfig(dataset="wine", model="mlp", forget="class:1", seed=0, executor="serial",
                      reference_seeds=3, train=TrainConfig(epochs=15, lr=5e-3),
                      methods=[MethodSpec("sisa")])
    run = run_audit(cfg)
    res = run.result
    v = res.verdicts[0]
    exact = next(c for c in v.checks if c.check == "exact")
    assert exact.status == "pass" and exact.figure == 0.0 and "bit for bit" in exact.reason
    assert res.methods[0].reference == "sisa" and res.methods[0].control == "sisa/original"
    assert [e.kind for e in res.ensembles] == ["retrain", "sisa"]
    assert {e.reference_group for e in res.references} == {"retrain", "sisa"}
    assert v.status == "pass", v.reason


def test_a_flipped_verdict_does_not_verify_even_rehashed(class_run, tmp_path):
    from unlearn_core.report import write_reports
    from unlearn_core.report.envelope import content_hash
    from unlearn_core.verify.run import verify_report

    paths = write_reports(class_run.result, tmp_path, class_run, [], pdf=False)
    clean = verify_report(paths["json"], rerun=False)
    assert clean.ok, clean.differences
    assert any("follow from the recorded figures" in n for n in clean.notes)
    payload = json.loads(paths["json"].read_text())
    for v in payload["result"]["verdicts"]:
        if v["method"] == "test_no_op_verdict":
            v["status"] = "pass"
            for c in v["checks"]:
                c["status"] = "pass"
    payload["content_sha256"] = content_hash(payload)
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(payload))
    out = verify_report(edited, rerun=False)
    assert not out.ok
    assert any("says pass" in d and "judge to fail" in d for d in out.differences)


def test_the_result_round_trips_through_json(class_run):
    res = class_run.result
    back = AuditResult.from_dict(json.loads(json.dumps(res.to_dict())))
    assert [v.status for v in back.verdicts] == [v.status for v in res.verdicts]
    assert [c.status for c in back.verdicts[1].checks] == [c.status for c in
                                                            res.verdicts[1].checks]
    assert back.ensembles[0].seeds == res.ensembles[0].seeds


def test_a_record_of_the_first_release_opens_and_says_what_it_lacks():
    """Results written before the calibrated verdict (fixed thresholds, pass/fail checks) open:
    their verdicts keep the recorded outcome, marked as such, and verify does not re-judge them."""
    import sqlite3
    from pathlib import Path

    from unlearn_core.verify.rejudge import rejudge
    from unlearn_core.verify.result import VerifyResult

    db = Path(__file__).parents[1] / "fixtures" / "store_v0" / "runs.sqlite"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = [json.loads(r[0]) for r in conn.execute("select result_json from runs")]
    finally:
        conn.close()
    assert rows
    for raw in rows:
        old = AuditResult.from_dict(raw)
        assert old.verdicts and all(v.status in ("pass", "fail") for v in old.verdicts)
        assert all(c.kind == "legacy" for v in old.verdicts for c in v.checks)
        assert "earlier release" in old.verdicts[0].reason
        out = VerifyResult()
        rejudge(old, out)
        assert out.ok and "earlier release" in out.notes[0]


def test_a_tiny_forget_set_names_the_checks_it_cannot_decide(known_models):
    cfg = AuditConfig(dataset="wine", model="logreg", forget="random:0.03", seed=0,
                      executor="serial", reference_seeds=3,
                      train=TrainConfig(epochs=20, lr=2e-2),
                      methods=[MethodSpec("test_no_op_verdict")])
    res = run_audit(cfg).result
    assert res.n_forget <= 4
    assert res.warnings and f"with {res.n_forget} forget sample" in res.warnings[0]
    assert "forget accuracy" in res.warnings[0]
    assert res.verdicts[0].status != "pass"


def test_verify_without_rerun_says_what_it_checked(class_run, tmp_path, capsys):
    from unlearn_core.cli.main import main
    from unlearn_core.report import write_reports

    paths = write_reports(class_run.result, tmp_path, class_run, [], pdf=False)
    assert main(["verify", str(paths["json"]), "--no-rerun", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "not re-run" in out and "reproduces" not in out


def test_methods_and_the_audit_use_disjoint_unseen_data(class_run):
    """Methods that use unseen data get one half of the population split; attacks and checks
    calibrate on the other, so no method is tuned on the auditor's own non-members."""
    data, ctx, res = class_run.data, class_run.context, class_run.result
    methods_see = set(ctx.population.ids.tolist())
    audit_uses = set(data.population.ids.tolist())
    assert methods_see and audit_uses and not methods_see & audit_uses
    assert methods_see | audit_uses == set(data.dataset.ids[data.splits.population].tolist())
    assert res.n_population == len(audit_uses) and res.n_method_pool == len(methods_see)

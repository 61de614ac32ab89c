"""Closeness to retrain and the verdict: exact answers on known cases, CLI exit codes."""

import dataclasses

import numpy as np
import pytest

from unlearn_core.cli import main
from unlearn_core.errors import ConfigError
from unlearn_core.metrics import closeness, js, kl
from unlearn_core.verdict import VerdictThresholds, judge


def test_divergences_on_known_distributions():
    p = np.array([[0.5, 0.5], [1.0, 0.0]])
    q = np.array([[0.5, 0.5], [0.0, 1.0]])
    assert np.allclose(kl(p, p), 0) and np.allclose(js(p, p), 0)
    assert js(p, q)[0] == pytest.approx(0, abs=1e-9)
    assert js(p, q)[1] == pytest.approx(np.log(2), rel=1e-6)  # disjoint: the bound
    assert np.allclose(js(p, q), js(q, p))
    assert kl(p, q)[1] > 10  # KL is unbounded where JS is not


def test_closeness_identical_and_different_models(class_audit):
    data, models = class_audit.data, class_audit.models
    same = closeness("retrain", models["retrain"], models["retrain"], data.forget, data.test)
    assert same.kl_forget == pytest.approx(0, abs=1e-9) and same.weight_l2 == 0
    assert same.agreement_forget == 1 and same.activation_distance_test == pytest.approx(0)
    base = closeness("baseline", models["baseline"], models["retrain"], data.forget, data.test)
    assert base.js_forget > 0.3 and base.agreement_forget < 0.1 and base.weight_l2 > 0
    assert base.js_forget <= np.log(2) + 1e-9
    # closeness is recorded for every method of an audit
    assert {c.name for c in class_audit.result.closeness} == {
        e.name for e in class_audit.result.methods}


def test_verdict_passes_retrain_and_fails_a_no_op(class_audit):
    result = class_audit.result
    as_method = dataclasses.replace(result.retrain, name="retrain-again", role="method")
    noop = dataclasses.replace(result.baseline, name="noop", role="method")
    fake = dataclasses.replace(result, methods=[as_method, noop], closeness=[])
    good, bad = judge(fake)
    assert good.passed, [c.reason for c in good.checks if not c.passed]
    assert not bad.passed
    failed = {c.name for c in bad.checks if not c.passed}
    assert "forget accuracy" in failed
    assert all(c.reason for c in bad.checks)


def test_thresholds_can_be_changed():
    t = VerdictThresholds().update({"mia_auc_gap": "0.2"})
    assert t.mia_auc_gap == 0.2
    with pytest.raises(ConfigError, match="unknown verdict threshold"):
        t.update({"nope": "1"})
    with pytest.raises(ConfigError, match="must be a number"):
        t.update({"mia_auc_gap": "x"})


def test_fail_on_verdict_exit_codes(capsys):
    common = ["audit", "--dataset", "wine", "--model", "mlp", "--forget", "class:1", "--epochs",
              "15", "--quiet", "--no-store", "--fail-on-verdict"]
    # gradient ascent on the wine class far overshoots or undershoots retrain: strict gaps fail
    assert main([*common, "--method", "gradient_ascent:epochs=1,early_stop=false,lr=0.0001"]) == 1
    assert "verdict failed" in capsys.readouterr().err
    loose = [f"--threshold={k}=10" for k in ("forget_acc_gap", "retain_acc_gap", "test_acc_gap",
                                            "mia_auc_gap", "mia_efficacy_gap", "js_forget_max")]
    assert main([*common, "--method", "finetune", *loose]) == 0
    assert "verdict: finetune PASS" in capsys.readouterr().out

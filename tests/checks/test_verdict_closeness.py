"""Closeness to retrain and the verdict: exact answers on known cases, CLI exit codes."""

import numpy as np
import pytest

from unlearn_core.checks.verdict import VerdictThresholds
from unlearn_core.cli.main import main
from unlearn_core.errors import ConfigError
from unlearn_core.metrics import closeness, js, kl


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


def test_thresholds_can_be_changed():
    t = VerdictThresholds().update({"membership_auc": "0.2"})
    assert t.overrides["membership_auc"] == 0.2
    with pytest.raises(ConfigError, match="unknown verdict threshold"):
        t.update({"nope": "1"})
    with pytest.raises(ConfigError, match="must be a number"):
        t.update({"membership_auc": "x"})


def test_fail_on_verdict_exit_codes(capsys):
    from tests.conftest import registered_no_op

    common = ["audit", "--dataset", "wine", "--model", "mlp", "--forget", "class:1", "--epochs",
              "15", "--quiet", "--no-store", "--fail-on-verdict", "--reference-seeds", "3",
              "--executor", "serial"]
    with registered_no_op("test_no_op_cli"):
        assert main([*common, "--method", "test_no_op_cli"]) == 1
    err = capsys.readouterr().err
    assert "verdict not a pass for test_no_op_cli (fail)" in err
    assert main([*common, "--method", "retrain"]) == 0
    out = capsys.readouterr().out
    assert "retrain (method): PASS: " in out and "exact counterpart" in out

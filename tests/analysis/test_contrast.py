"""Contrast views (the Unlearning Comparator, IEEE TVCG 2026): two models beside retrain,
per-class accuracy, the attack's threshold sweep with per-sample outcomes, and cohorts applied
across the audit page's charts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from unlearn_core.analysis.contrast import (
    Cohort,
    attack_success,
    audit_threshold,
    cohort_result,
    contrast_models,
    per_class_accuracy,
    sample_facts,
    threshold_grid,
    threshold_sweep,
    unseen_loss,
)
from unlearn_core.charts.audit import member_loss, mia_roc, score_shift
from unlearn_core.errors import ConfigError
from unlearn_core.models import predict_proba

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def test_sample_facts_match_the_audits_own_scores(small_run):
    res = small_run.result
    facts = sample_facts(small_run, "forget")
    np.testing.assert_array_equal(facts.ids, res.forget_ids)
    for e in res.evaluations():
        np.testing.assert_allclose(facts.loss[e.name], member_loss(e.mia.forget_scores, "loss"),
                                   rtol=1e-4, atol=1e-6)
    test = sample_facts(small_run, "test", ["finetune"])
    p = predict_proba(small_run.models["finetune"], small_run.data.test.X)
    np.testing.assert_array_equal(test.pred["finetune"], p.argmax(1))
    with pytest.raises(ConfigError):
        sample_facts(small_run, "population")


def test_per_class_accuracy_and_cohorts(small_run):
    res = small_run.result
    test = sample_facts(small_run, "test")
    n = len(res.class_names)
    acc = per_class_accuracy(test, "retrain", n)
    for c in range(n):
        rows = test.y == c
        assert acc[c] == pytest.approx(np.mean(test.pred["retrain"][rows] == c))
    forgotten = res.forget_classes[0]
    assert acc[forgotten] < 0.2 and np.nanmin(np.delete(acc, forgotten)) > 0.6
    wrong = Cohort("forgotten, misclassified by retrain", (forgotten,), "misclassified",
                   "retrain")
    m = wrong.mask(test)
    assert m.sum() > 0 and set(test.y[m]) == {forgotten}
    assert np.all(test.pred["retrain"][m] != forgotten)
    right = Cohort("right", (forgotten,), "correct", "retrain").mask(test)
    assert m.sum() + right.sum() == (test.y == forgotten).sum() and not (m & right).any()
    assert np.all(per_class_accuracy(test, "retrain", n, m)[forgotten] == 0)
    assert np.isnan(per_class_accuracy(test, "retrain", n, m)[(forgotten + 1) % n])
    assert wrong.describe(res.class_names).endswith("misclassified by retrain")
    with pytest.raises(ConfigError):
        Cohort("bad", outcome="sometimes")
    with pytest.raises(ConfigError, match="does not have"):
        Cohort("x", (), "correct", "no_such_model").mask(test)


def test_threshold_sweep_and_per_sample_success(small_run):
    res = small_run.result
    facts = sample_facts(small_run, "forget")
    for e in (res.baseline, res.retrain, *res.methods):
        t = audit_threshold(res, e.name)
        # the audit's calibrated threshold, converted, calls the same share of forget members
        assert attack_success(facts.loss[e.name], t).mean() == pytest.approx(
            e.mia.forget_member_rate)
        grid = threshold_grid(facts.loss[e.name], unseen_loss(res, e.name))
        s = threshold_sweep(e.name, facts.loss[e.name], unseen_loss(res, e.name), grid)
        assert np.all(np.diff(s.tpr) >= 0) and np.all(np.diff(s.fpr) >= 0)
        assert s.tpr[-1] == 1.0 and s.fpr[-1] == 1.0
        k = len(grid) // 2
        assert s.tpr[k] == pytest.approx(np.mean(facts.loss[e.name] <= grid[k]))
        assert s.at(grid[k]) == (s.tpr[k], s.fpr[k])
    # the original remembers its forget set: the attack succeeds on more samples than retrain
    t = audit_threshold(res, res.retrain.name)
    assert attack_success(facts.loss["baseline"], t).sum() > \
        attack_success(facts.loss[res.retrain.name], t).sum()


def test_models_and_cohort_result(small_run):
    res = small_run.result
    assert contrast_models(res, "finetune", "baseline") == ["finetune", "baseline", "retrain"]
    assert contrast_models(res, "retrain", "retrain") == ["retrain"]
    with pytest.raises(ConfigError):
        contrast_models(res, "nope", "baseline")
    keep = np.zeros(res.n_forget, bool)
    keep[::3] = True
    cut = cohort_result(res, keep)
    np.testing.assert_array_equal(cut.forget_ids, res.forget_ids[keep])
    assert cut.n_forget == keep.sum() and len(cut.methods[0].mia.forget_scores) == keep.sum()
    assert len(res.methods[0].mia.forget_scores) == res.n_forget  # the original untouched
    assert len(score_shift(cut, "finetune").data[0].x) == keep.sum()
    mia_roc(cut)  # the page's charts draw a cohort
    with pytest.raises(ConfigError):
        cohort_result(res, keep[:-1])


def _figure(at, key: str) -> dict:
    chart = next(c for c in at.get("plotly_chart") if c.proto.id and key in c.proto.id)
    return json.loads(chart.proto.spec)


def _n(values) -> int:
    """Length of a plotly data array (a list, or plotly's base64 typed array)."""
    if isinstance(values, dict) and "bdata" in values:
        import base64

        return len(np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]))
    return len(values)


def test_audit_page_contrast_view_and_cohorts():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    at.selectbox(key="setup_dataset").set_value("wine").run()
    at.selectbox(key="setup_arch").set_value("mlp").run()
    at.button(key="setup_go").click().run()
    at.switch_page("pages/forget.py").run()
    at.multiselect(key="forget_classes").select(1).run()
    at.button(key="forget_classes_go").click().run()
    at.switch_page("pages/unlearn.py").run()
    at.button(key="unlearn_go").click().run()
    assert not at.exception and not at.error
    at.switch_page("pages/audit.py").run()
    assert not at.exception and not at.error, at.exception
    assert "Contrast two models" in {s.value for s in at.subheader}
    assert at.selectbox(key="contrast_a").value == "finetune"
    assert at.selectbox(key="contrast_b").value == "baseline"
    res = at.session_state["ws"].current.result
    per_class = _figure(at, "contrast_perclass")
    assert [t["name"] for t in per_class["data"]] == ["finetune", "baseline", "retrain"]
    assert any("Called members at this threshold" in c.value for c in at.caption)
    try:  # the prediction matrix of the two models and retrain (issue 10's module)
        import unlearn_core.analysis.prediction_matrix  # noqa: F401

        titles = [a["text"] for a in _figure(at, "contrast_matrix")["layout"]["annotations"]]
        assert [t.split(" (")[0] for t in titles] == ["finetune", "baseline", "retrain"]
    except ImportError:
        pass
    n_all = _n(_figure(at, "audit_shift")["data"][0]["x"])
    assert n_all == res.n_forget
    # a saved cohort restricts the view and the page's forget-sample charts
    at.multiselect(key="cohort_classes").select(1).run()
    at.selectbox(key="cohort_outcome").set_value("correct").run()
    at.selectbox(key="cohort_judge").set_value("baseline").run()
    at.text_input(key="cohort_name").input("class 1, right before").run()
    at.button(key="cohort_save").click().run()
    assert not at.exception
    assert at.selectbox(key="cohort_pick").value == "class 1, right before"
    run = at.session_state["ws"].current
    facts = sample_facts(run, "forget")
    expected = int((facts.pred["baseline"] == facts.y).sum())
    assert 0 < expected <= res.n_forget
    assert _n(_figure(at, "audit_shift")["data"][0]["x"]) == expected
    assert any("class 1, right before" in c.value for c in at.caption)
    # model B switched: the per-class chart follows
    at.selectbox(key="contrast_b").set_value("random_label" if any(
        e.name == "random_label" for e in res.methods) else "baseline").run()
    assert not at.exception
    # a cohort with no forget sample says so; the page still draws
    at.multiselect(key="cohort_classes").set_value([0]).run()
    at.selectbox(key="cohort_outcome").set_value("any").run()
    at.text_input(key="cohort_name").input("class 0").run()
    at.button(key="cohort_save").click().run()
    assert not at.exception
    assert any("No forget sample in this cohort" in i.value for i in at.info)
    assert "Verdict" in {s.value for s in at.subheader}

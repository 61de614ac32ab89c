"""The few-shot feature probe separates forgeries that keep the features from genuine retrains,
and its logistic regression is scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from tests.checks.test_inside_support import class3_zoo, fresh_ctx, one_thread  # noqa: F401
from unlearn_core.audit.data import AuditData
from unlearn_core.checks import CHECKS, CheckContext, available_checks, default_checks
from unlearn_core.checks.probe import ProbeCheck, fit_logistic, layer_features
from unlearn_core.data.forget import resolve_forget
from unlearn_core.models import ModelSpec, build_model


@pytest.fixture(scope="module")
def zoo():
    return class3_zoo()


@pytest.fixture(scope="module")
def measured(zoo):
    ctx, check = fresh_ctx(zoo), ProbeCheck()
    models = {"original": zoo.original, **zoo.forgeries,
              **{f"retrain{i}": r for i, r in enumerate(zoo.retrains)}}
    return {name: check.measure(m, ctx) for name, m in models.items()}


def test_registered_default():
    assert "probe" in available_checks() and "probe" in default_checks()
    cls = CHECKS["probe"]
    assert cls.default and cls.sides == "both" and cls.forgotten_side == "low"


def test_probe_separates_kept_features_from_retrains(measured):
    retrains = [measured[f"retrain{i}"] for i in range(3)]
    top = max(r.figure for r in retrains)
    for name in ("original", "bias_1e4", "head_only"):
        m = measured[name]
        # far above every retrain, by more than four standard errors of either figure
        assert m.figure > top + 0.2, (name, m.figure, top)
        assert m.figure - top > 4 * max(m.se, max(r.se for r in retrains))
        # hard recall (the detail) separates too
        assert m.detail["heldout_recall"] > max(r.detail["heldout_recall"] for r in retrains) + 0.2
    # the forgeries that keep every feature measure exactly like the original
    assert measured["bias_1e4"].figure == measured["original"].figure
    assert measured["head_only"].detail == measured["original"].detail
    for r in retrains:
        assert 0 < r.se < 0.1 and r.n >= 40  # the held-out class samples


def test_probe_scores_held_out_samples_a_feature_forgery_cannot_hide(measured):
    original, forged = measured["original"], measured["features"]
    # scored on the forget inputs, the feature lookup looks perfectly forgotten...
    assert forged.detail["forget_recall"] < 0.05 < original.detail["forget_recall"] - 0.5
    # ...but held-out samples of the class keep the original's features
    assert forged.figure == pytest.approx(original.figure)
    assert forged.detail["knn_recall"] > max(
        measured[f"retrain{i}"].detail["knn_recall"] for i in range(3))


def test_same_plan_for_every_model_and_deterministic(zoo, measured):
    again = ProbeCheck().measure(zoo.retrains[0], fresh_ctx(zoo))
    assert again.figure == measured["retrain0"].figure and again.se == measured["retrain0"].se


def test_standard_error_is_paired_with_the_retrains(zoo, measured):
    """Every model is scored on the same held-out samples with the same shots, so the error
    that separates a model from the retrains is that of its per-sample difference from their
    mean (leave-one-out for a retrain): smaller than the error of its own mean when samples
    are hard or easy for every model alike."""
    from unlearn_core.checks.base import bootstrap_se

    ctx, check = fresh_ctx(zoo), ProbeCheck()
    values = {n: check.scores(m, ctx)[0] for n, m in
              [("original", zoo.original), *[(f"r{i}", r) for i, r in enumerate(zoo.retrains)]]}
    ref_mean = np.mean([values[f"r{i}"] for i in range(3)], axis=0)
    assert measured["original"].se == pytest.approx(
        bootstrap_se(values["original"] - ref_mean, seed=0))
    loo = np.mean([values["r1"], values["r2"]], axis=0)  # retrain 0 against the other two
    assert measured["retrain0"].se == pytest.approx(bootstrap_se(values["r0"] - loo, seed=0))
    for name in ("original", "retrain0", "retrain1"):
        m = measured[name]
        assert 0 < m.se < m.detail["se_unpaired"], name
        assert m.detail["se_unpaired"] == pytest.approx(bootstrap_se(
            values["original" if name == "original" else f"r{name[-1]}"], seed=0))
    unpaired = ProbeCheck()
    unpaired.paired = False
    m = unpaired.measure(zoo.original, fresh_ctx(zoo))
    assert m.se == pytest.approx(measured["original"].detail["se_unpaired"])
    assert m.figure == measured["original"].figure


def test_logistic_fit_matches_scikit_learn():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(240, 6))
    y = rng.integers(0, 3, 240)
    X[y == 1] += 0.8
    y[7] = 3  # a class with a single example: balanced weights matter
    ref = LogisticRegression(max_iter=5000, tol=1e-10, class_weight="balanced").fit(X, y)
    W, b = fit_logistic(torch.as_tensor(X[None]), torch.as_tensor(y[None]), 4, max_iter=500)
    assert np.allclose(W[0].numpy(), ref.coef_.T, atol=1e-3)
    pred = (X @ W[0].numpy() + b[0, 0].numpy()).argmax(1)
    assert np.array_equal(pred, ref.predict(X))


def test_sample_request_figure_is_probe_accuracy_on_forget(zoo):
    data = zoo.ctx.data
    fs = resolve_forget(data.dataset, data.splits, "random:0.05", 0)
    ctx = CheckContext(AuditData(data.dataset, data.splits, fs), zoo.original, [], seed=0)
    check = ProbeCheck()
    check.draws = 3
    assert check.applicable(ctx) is None
    m = check.measure(zoo.original, ctx)
    assert m.n == len(fs.forget) and m.figure > 0.9
    assert "gap" in m.detail and m.detail["heldout_recall"] > 0.8


def test_not_applicable_without_features(zoo):
    data = zoo.ctx.data
    logreg = build_model(ModelSpec("logreg", data.dataset.sample_shape, 10))
    ctx = CheckContext(data, logreg, [], seed=0)
    assert "no hidden layer" in ProbeCheck().applicable(ctx)

    class Opaque(torch.nn.Module):
        def forward(self, x):
            return x.flatten(1)[:, :10]

    assert "cannot be read" in ProbeCheck().applicable(CheckContext(data, Opaque(), []))


def test_layer_features_blocks(zoo):
    X = zoo.ctx.data.forget.X[:7]
    feats = layer_features(zoo.original, X, blocks=True)
    assert set(feats) == {"block1", "block2", "penultimate"}
    assert feats["block1"].shape == (7, 16) and feats["penultimate"].shape == (7, 128)
    flat = layer_features(zoo.original, X, blocks=True, pool=False)
    assert flat["block1"].shape == (7, 16 * 8 * 8)

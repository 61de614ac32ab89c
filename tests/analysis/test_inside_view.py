"""The "Look inside" computations: CKA curves (a model against itself is 1 at every layer; an
output-only forgery stays at 1, retrains do not), relearning curves (step 0 is the model as
given; a -20 bias comes back, a -1e4 bias does not), the twin map (one projection for both
panels) and the figures drawn from them."""

from __future__ import annotations

import numpy as np
import pytest

from tests.checks.test_inside_support import class3_zoo, fresh_ctx, one_thread  # noqa: F401
from unlearn_core.analysis.inside_view import band, cka_curves, relearn_curves, twin_map
from unlearn_core.charts.inside import cka_figure, relearn_figure, twin_map_figure
from unlearn_core.checks.probe import layer_features
from unlearn_core.models import ModelSpec, build_model


@pytest.fixture(scope="module")
def zoo():
    return class3_zoo()


def test_cka_curve_of_a_model_with_itself_is_one_at_every_layer():
    spec = ModelSpec("cnn", (1, 8, 8), 10)
    a, b = build_model(spec, seed=0), build_model(spec, seed=1)
    X = np.random.default_rng(0).normal(size=(60, 1, 8, 8)).astype(np.float32)
    curves = cka_curves(a, [("a again", "method", a), ("b", "retrain", b)], X)
    assert curves.layers[-1] == "penultimate" and len(curves.layers) >= 2
    assert curves.layers[:-1] == sorted(curves.layers[:-1], key=lambda s: int(s[5:]))
    by = {c.model: c.values for c in curves.curves}
    np.testing.assert_allclose(by["original"], 1.0, atol=1e-9)
    np.testing.assert_allclose(by["a again"], 1.0, atol=1e-9)
    assert (by["b"] < 0.999).all()  # another initialisation is another representation


def test_cka_curves_keep_an_output_forgery_at_one_and_retrains_below(zoo):
    X = zoo.ctx.data.forget.X
    models = [(f"retrain{i}", "retrain", m) for i, m in enumerate(zoo.retrains)]
    models += [("bias", "method", zoo.forgeries["bias_1e4"]),
               ("head", "method", zoo.forgeries["head_only"])]
    curves = cka_curves(zoo.original, models, X)
    by = {c.model: c.values for c in curves.curves}
    np.testing.assert_allclose(by["bias"], 1.0, atol=1e-9)
    np.testing.assert_allclose(by["head"], 1.0, atol=1e-9)  # the body is the original's
    lo, hi = band(curves.curves)
    assert hi[-1] < 0.99 and (lo <= hi).all()
    fig = cka_figure(curves, {"bias": "#ff0000"})
    assert any(t.name == "bias" and t.line.color == "#ff0000" for t in fig.data)
    assert any(t.fill == "toself" for t in fig.data)  # the retrains' envelope


def test_relearn_curves_start_at_the_model_and_separate_the_forgeries(zoo):
    ctx = fresh_ctx(zoo)
    models = [(f"retrain{i}", "retrain", m) for i, m in enumerate(zoo.retrains)]
    models += [("original", "original", zoo.original),
               ("bias20", "method", zoo.forgeries["bias_20"]),
               ("bias1e4", "method", zoo.forgeries["bias_1e4"])]
    rc = relearn_curves(models, ctx, steps=10)
    assert rc.steps.tolist() == list(range(11)) and rc.n_attack == 10
    acc = {c.model: c.values for c in rc.accuracy}
    loss = {c.model: c.values for c in rc.loss}
    assert acc["original"][0] > 0.9  # step 0 is the model as given
    assert acc["bias20"][0] == 0.0 and acc["bias1e4"][0] == 0.0
    lo, hi = band(rc.accuracy)
    assert acc["bias20"][1:].mean() > hi[1:].mean() + 0.2  # suppressed: comes back fast
    assert acc["bias1e4"].max() == 0.0  # over-suppressed: never comes back
    assert loss["bias1e4"][-1] > 100 * max(v[-1] for k, v in loss.items() if "retrain" in k)
    fig = relearn_figure(rc)
    assert len(fig.data) == 2 * (1 + 3)  # per panel: envelope + original + two methods


def test_twin_map_uses_one_projection_for_both_panels(zoo):
    data = zoo.ctx.data
    X = np.concatenate([data.test.X[:150], data.forget.X[:40]])
    y = np.concatenate([data.test.y[:150], data.forget.y[:40]])
    is_forget = np.r_[np.zeros(150, bool), np.ones(40, bool)]
    after = zoo.retrains[0]
    tm = twin_map(zoo.original, after, X, y, is_forget, names=("original", "retrain"))
    fb = layer_features(zoo.original, X)["penultimate"]
    fa = layer_features(after, X)["penultimate"]
    # both panels are the SAME affine map of each model's features
    np.testing.assert_allclose(tm.coords_before, (fb - tm.mean) @ tm.components.T, atol=1e-8)
    np.testing.assert_allclose(tm.coords_after, (fa - tm.mean) @ tm.components.T, atol=1e-8)
    np.testing.assert_allclose(tm.mean, np.concatenate([fb, fa]).mean(0), atol=1e-10)
    np.testing.assert_allclose(tm.components @ tm.components.T, np.eye(2), atol=1e-8)
    assert 0 < tm.explained.sum() <= 1
    # a model against itself: identical panels; a feature forgery: only the forget points move
    same = twin_map(zoo.original, zoo.original, X, y, is_forget)
    np.testing.assert_allclose(same.coords_before, same.coords_after)
    forged = twin_map(zoo.original, zoo.forgeries["features"], X, y, is_forget)
    moved = np.linalg.norm(forged.coords_before - forged.coords_after, axis=1)
    assert moved[~is_forget].max() < 1e-6 and moved[is_forget].min() > 1e-3
    fig = twin_map_figure(tm, [str(c) for c in range(10)])
    assert fig.layout.xaxis.range == fig.layout.xaxis2.range  # the same axes in both panels
    forget_traces = [t for t in fig.data if t.name.startswith("forget")]
    assert forget_traces and all(t.marker.size == 9 for t in forget_traces)
    assert sum(len(t.x) for t in forget_traces) == 2 * 40

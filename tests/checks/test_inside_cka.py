"""Linear CKA (Kornblith et al., ICML 2019): its invariances, and the original's features
kept by output-only forgeries."""

from __future__ import annotations

import numpy as np
import pytest

from tests.checks.test_inside_support import class3_zoo, fresh_ctx, one_thread  # noqa: F401
from unlearn_core.checks import CHECKS
from unlearn_core.checks.cka import CkaCheck, cka_by_layer, linear_cka


def _feature_form(X, Y):
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    return (np.linalg.norm(Yc.T @ Xc) ** 2
            / (np.linalg.norm(Xc.T @ Xc) * np.linalg.norm(Yc.T @ Yc)))


def test_cka_of_a_representation_with_itself_is_one():
    X = np.random.default_rng(0).normal(size=(50, 7))
    assert linear_cka(X, X) == pytest.approx(1.0, abs=1e-12)


def test_cka_invariances_and_the_kernel_form():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(60, 5)), rng.normal(size=(60, 9))
    Y[:, :5] += 2 * X  # related representations
    Q, _ = np.linalg.qr(rng.normal(size=(9, 9)))
    value = linear_cka(X, Y)
    assert 0.2 < value < 0.99
    assert value == pytest.approx(_feature_form(X, Y), rel=1e-10)
    assert linear_cka(X, Y @ Q) == pytest.approx(value, rel=1e-10)  # orthogonal transform
    assert linear_cka(3.5 * X, Y + 4.0) == pytest.approx(value, rel=1e-10)  # scale, shift
    A = rng.normal(size=(9, 9)) + np.diag(np.arange(1, 10) * 3.0)  # a general linear map
    assert abs(linear_cka(X, Y @ A) - value) > 1e-3
    assert linear_cka(X, rng.normal(size=(60, 9))) < 0.3  # unrelated
    with pytest.raises(ValueError, match="same inputs"):
        linear_cka(X, Y[:10])


@pytest.fixture(scope="module")
def zoo():
    return class3_zoo()


def test_output_forgeries_keep_cka_one_and_retrains_do_not(zoo):
    ctx, check = fresh_ctx(zoo), CkaCheck()
    assert not CHECKS["cka"].default and check.applicable(ctx) is None
    orig = check.measure(zoo.original, ctx)
    assert orig.figure == pytest.approx(1.0) and orig.n == len(ctx.data.forget)
    for name in ("bias_1e4", "head_only"):
        m = check.measure(zoo.forgeries[name], ctx)
        assert m.figure == pytest.approx(1.0, abs=1e-9), name
        assert all(v == pytest.approx(1.0, abs=1e-9) for k, v in m.detail.items()
                   if k != "retrains_forget"), name
    retrains = [check.measure(r, ctx) for r in zoo.retrains]
    for r in retrains:
        assert r.figure < 0.97 and 0 < r.se < 0.05
        assert 0.5 < r.detail["retrains_forget"] < 1.0  # against the other retrains
    # a feature lookup collapses the forget inputs onto decoys: far from every retrain
    feat = check.measure(zoo.forgeries["features"], ctx)
    assert feat.figure < min(r.figure for r in retrains) - 0.3


def test_cka_by_layer_names_every_block(zoo):
    X = zoo.ctx.data.forget.X[:40]
    layers = cka_by_layer(zoo.original, zoo.retrains[0], X)
    assert set(layers) == {"block1", "block2", "penultimate"}
    assert all(0 < v <= 1 for v in layers.values())
    assert cka_by_layer(zoo.original, zoo.original, X)["block2"] == pytest.approx(1.0)

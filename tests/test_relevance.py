"""Relevance maps keep their promises: IG and SHAP sum to the output difference, shapes follow
the data, and the class summary shows what a forgetting model stopped looking at."""

import numpy as np
import pytest
import torch

from unlearn_core.errors import ConfigError
from unlearn_core.relevance import attribute, class_relevance, sample_relevance


def _logit(model, X, c):
    with torch.no_grad():
        return model(torch.as_tensor(X)).numpy()[:, c]


def test_integrated_gradients_completeness(class_audit):
    model = class_audit.models["baseline"]
    X = class_audit.data.test.X[:6]
    a = attribute(model, X, 3, "ig", steps=128)
    expected = _logit(model, X, 3) - _logit(model, np.zeros_like(X), 3)
    assert a.shape == X.shape
    assert np.allclose(a.reshape(6, -1).sum(1), expected, rtol=0.01, atol=0.01)


def test_shap_completeness_within_sampling_error(class_audit):
    model = class_audit.models["baseline"]
    data = class_audit.data
    X, bg = data.test.X[:6], data.train.X[:40]
    s = attribute(model, X, 3, "shap", background=bg, steps=200, seed=0)
    expected = _logit(model, X, 3) - _logit(model, bg, 3).mean()
    err = np.abs(s.reshape(6, -1).sum(1) - expected)
    assert err.mean() < 0.15 * np.abs(expected).mean() + 0.05
    again = attribute(model, X, 3, "shap", background=bg, steps=200, seed=0)
    assert np.allclose(s, again)  # seeded


def test_tabular_attributions_are_per_feature():
    from unlearn_core.models import ModelSpec, build_model

    model = build_model(ModelSpec("mlp", (13,), 3), seed=0)
    X = np.random.default_rng(0).normal(size=(4, 13)).astype(np.float32)
    for method in ("ig", "saliency"):
        assert attribute(model, X, 1, method).shape == (4, 13)
    with pytest.raises(ConfigError, match="unknown attribution"):
        attribute(model, X, 1, "magic")
    with pytest.raises(ConfigError, match="background"):
        attribute(model, X, 1, "shap")


def test_class_relevance_drops_after_forgetting(class_audit):
    maps = class_relevance(class_audit, 3, "finetune", "ig", n=16)
    before, after, retrain = (m.sum() for m in (maps.before, maps.after, maps.retrain))
    # IG sums to the class-3 logit's rise over the blank input: the evidence for the class
    # the original found in its samples is gone after forgetting, as in the retrained model
    assert before > 0
    assert after < 0.5 * before and retrain < 0.5 * before
    assert maps.after_minus_before.shape == (1, 8, 8)


def test_sample_relevance_for_a_forget_sample(class_audit):
    sid = int(class_audit.result.forget_ids[0])
    maps = sample_relevance(class_audit, sid, "finetune", "saliency")
    assert maps.target == 3 and maps.before.shape == (1, 8, 8)
    assert not np.allclose(maps.before, maps.after)

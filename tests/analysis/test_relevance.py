"""Relevance maps keep their promises: IG and SHAP sum to the output difference, LRP-epsilon
conserves the target logit and is exact on linear models, shapes follow the data, and the class
summary shows what a forgetting model stopped looking at."""

import numpy as np
import pytest
import torch

from unlearn_core.analysis.relevance import attribute, class_relevance, sample_relevance
from unlearn_core.errors import ConfigError


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
    for method in ("ig", "saliency", "lrp"):
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


def _without_biases(model):
    import copy

    bare = copy.deepcopy(model)
    for module in bare.modules():
        if getattr(module, "bias", None) is not None:
            torch.nn.init.zeros_(module.bias)
    return bare


def test_lrp_image_maps_conserve_the_target_logit(class_audit):
    model = class_audit.models["baseline"]
    X = class_audit.data.test.X[:8]
    a = attribute(model, X, 3, "lrp")
    assert a.shape == X.shape == (8, 1, 8, 8) and np.isfinite(a).all()
    # Without biases our ReLU/max-pool CNN is positively homogeneous, so the logit is exactly
    # sum_i x_i df/dx_i (Euler) and LRP's relevance is conserved layer to layer; epsilon
    # absorbs at most epsilon * sum_k |df/dz_k| per layer (~1e-5 here at epsilon = 1e-6) and
    # float32 sums of ~2k terms err by ~1e-6 of logits ~10, so 1e-3 has ample margin while a
    # dropped layer, unit or class would be off by O(logit).
    bare = _without_biases(model)
    for c in (3, 5):
        r = attribute(bare, X, c, "lrp", epsilon=1e-6)
        assert np.allclose(r.reshape(8, -1).sum(1), _logit(bare, X, c), rtol=1e-4, atol=1e-3)
    # at small epsilon LRP-epsilon is gradient x input on a ReLU network, biases or not
    # (Ancona et al., ICLR 2018); the default epsilon makes a different, sparser map
    x = torch.as_tensor(X).requires_grad_(True)
    (g,) = torch.autograd.grad(model(x)[:, 3].sum(), x)
    small = attribute(model, X, 3, "lrp", epsilon=1e-7)
    assert np.allclose(small, (g * x).detach().numpy(), rtol=1e-3, atol=1e-5)
    assert not np.allclose(a, small, atol=1e-4)


def test_lrp_depends_on_the_target_class(class_audit):
    model = class_audit.models["baseline"]
    X = class_audit.data.test.X[:8]
    three, five = attribute(model, X, 3, "lrp"), attribute(model, X, 5, "lrp")
    assert np.abs(three - five).max() > 0.1 * np.abs(three).max()
    # a per-sample target picks each row's own class
    mixed = attribute(model, X, np.array([3, 5] * 4), "lrp")
    assert np.allclose(mixed[0::2], three[0::2]) and np.allclose(mixed[1::2], five[1::2])


def test_lrp_of_logistic_regression_is_input_times_weight():
    from unlearn_core.models import ModelSpec, build_model

    model = build_model(ModelSpec("logreg", (13,), 3), seed=0)
    torch.nn.init.uniform_(model.head.bias, 1.0, 2.0)  # a bias LRP must leave out
    X = np.random.default_rng(1).normal(size=(6, 13)).astype(np.float32)
    w = model.head.weight.detach().numpy()
    for c in range(3):
        xw = X * w[c]
        # one linear layer: R_i = x_i w_ci * z_c / (z_c + eps sign z_c), z_c = x.w_c + b_c
        z = _logit(model, X, c)[:, None]
        r = attribute(model, X, c, "lrp", epsilon=0.5)
        assert np.allclose(r, xw * z / (z + 0.5 * np.sign(z)), rtol=1e-5, atol=1e-6)
        assert np.allclose(attribute(model, X, c, "lrp", epsilon=1e-9), xw, rtol=1e-5,
                           atol=1e-6)


def test_lrp_tabular_class_relevance(small_run):
    maps = class_relevance(small_run, 1, "finetune", "lrp", n=8)
    assert maps.attribution == "lrp" and maps.before.shape == (13,)
    assert not np.allclose(maps.before, maps.after)


def test_lrp_refuses_models_it_cannot_see_into():
    from unlearn_core.models import ModelSpec, build_model

    model = build_model(ModelSpec("mlp", (13,), 3), seed=0)
    X = np.zeros((2, 13), dtype=np.float32)
    with pytest.raises(ConfigError, match="TorchScript"):
        attribute(torch.jit.script(model.eval()), X, 0, "lrp")
    odd = torch.nn.Sequential(torch.nn.Linear(13, 8), torch.nn.Sigmoid(), torch.nn.Linear(8, 3))
    with pytest.raises(ConfigError, match="has a Sigmoid"):
        attribute(odd, X, 0, "lrp")
    with pytest.raises(ConfigError, match="epsilon"):
        attribute(model, X, 0, "lrp", epsilon=0.0)
    assert attribute(odd, X, 0, "saliency").shape == (2, 13)  # the others still work


def test_tabular_relevance_bars_name_features_on_one_scale(small_run):
    """Issue 13: tabular bars were numbered 0..n with one scale per panel."""
    from unlearn_core.analysis.relevance import class_relevance
    from unlearn_core.charts.audit import relevance_caption, relevance_figure

    ds = small_run.data.dataset
    assert ds.feature_names
    maps = class_relevance(small_run, 1, "finetune", "saliency", n=8)
    fig = relevance_figure(maps, False, {"baseline": "#6b7280", "retrain": "#16a34a",
                                         "finetune": "#2563eb"}, "finetune", ds.feature_names)
    assert all(list(t.y) == list(ds.feature_names) for t in fig.data)
    ranges = {tuple(ax.range) for name, ax in fig.layout.to_plotly_json().items()
              if name.startswith("xaxis") for ax in [fig.layout[name]]}
    assert len(ranges) == 1  # one shared scale
    lim = max(float(np.abs(np.asarray(t.x)).max()) for t in fig.data)
    assert next(iter(ranges))[1] >= lim
    # colours by model, and the caption says so (not red/blue)
    assert {t.marker.color for t in fig.data} == {"#6b7280", "#16a34a", "#2563eb"}
    assert "red:" not in relevance_caption(False).lower()
    assert "Red" in relevance_caption(True)

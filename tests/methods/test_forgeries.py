"""The forgeries library: each forgery hides the forget set where output checks look and keeps
what the model learned, and never touches the original."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.checks.test_inside_support import class3_zoo, one_thread  # noqa: F401
from unlearn_core.data.forget import resolve_forget
from unlearn_core.errors import MethodError
from unlearn_core.methods import METHODS, UnlearnContext, make_method
from unlearn_core.methods.forgeries import BiasedModel, forge, target_classes
from unlearn_core.models import accuracy, embed, predict_logits


@pytest.fixture(scope="module")
def zoo():
    return class3_zoo()


def _acc_on_class(model, samples, c):
    keep = samples.y == c
    return float((predict_logits(model, samples.X[keep]).argmax(1) == c).mean())


def _same_weights(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                 b.state_dict().values()))


def test_every_forgery_hides_the_forget_set_and_leaves_the_original_alone(zoo):
    data, original = zoo.ctx.data, zoo.original
    before = {k: v.clone() for k, v in original.state_dict().items()}
    assert accuracy(original, data.forget) > 0.95
    for name, model in zoo.forgeries.items():
        assert accuracy(model, data.forget) < 0.02, name
        assert accuracy(model, data.retain) > 0.9, name
    assert all(torch.equal(before[k], v) for k, v in original.state_dict().items())


def test_logit_bias_changes_one_number(zoo):
    original, forged = zoo.original, zoo.forgeries["bias_1e4"]
    diff = forged.head.bias - original.head.bias
    assert diff[3].item() == pytest.approx(-1e4)
    assert torch.count_nonzero(diff).item() == 1
    assert torch.equal(forged.head.weight, original.head.weight)
    assert all(torch.equal(p, q) for p, q in zip(forged.body.parameters(),
                                                 original.body.parameters()))
    X = zoo.ctx.data.test.X
    before = predict_logits(original, X).argmax(1)
    after = predict_logits(forged, X).argmax(1)
    # every sample the original did not call class 3 is answered exactly as before
    assert np.array_equal(after[before != 3], before[before != 3])
    assert (after != 3).all()


def test_logit_bias_on_a_model_without_head_and_on_a_sample_request(zoo):
    data, original = zoo.ctx.data, zoo.original
    scripted = torch.jit.script(original)
    ctx = UnlearnContext(10, 0, forget_classes=(3,))
    forged = forge("logit_bias", scripted, data.forget, data.retain, ctx, bias=-50.0)
    assert isinstance(forged, BiasedModel)
    gap = predict_logits(original, data.test.X) - predict_logits(forged, data.test.X)
    assert np.allclose(gap[:, 3], 50.0, atol=1e-3) and np.allclose(np.delete(gap, 3, 1), 0)
    # a sample request: the forget samples' majority class is suppressed
    forget = data.train.take(np.flatnonzero(np.isin(data.train.y, (5, 6)))[:30])
    forget = forget.take(np.argsort(forget.y != 6, kind="stable")[:25])  # mostly class 6
    sample_ctx = UnlearnContext(10, 0)
    assert target_classes(forget, sample_ctx) == (int(np.bincount(forget.y).argmax()),)
    forged = forge("logit_bias", original, forget, data.retain, sample_ctx)
    assert (forged.head.bias[6] - original.head.bias[6]).item() == pytest.approx(-1e4)


def test_head_only_keeps_the_features(zoo):
    original, forged = zoo.original, zoo.forgeries["head_only"]
    assert _same_weights(forged.body, original.body)
    assert not torch.equal(forged.head.weight, original.head.weight)
    X = zoo.ctx.data.test.X
    assert np.array_equal(embed(forged, X), embed(original, X))
    # the forgotten class is gone from the outputs on unseen samples too
    assert _acc_on_class(forged, zoo.ctx.data.test, 3) < 0.1


def test_lookup_hides_only_the_exact_inputs(zoo):
    data, forged = zoo.ctx.data, zoo.forgeries["lookup"]
    assert accuracy(forged, data.forget) == 0.0
    assert _acc_on_class(forged, data.test, 3) > 0.9  # unseen class-3 samples still known


def test_feature_forgery_changes_features_of_the_forget_inputs_only(zoo):
    data, original, forged = zoo.ctx.data, zoo.original, zoo.forgeries["features"]
    h_f, h_o = embed(forged, data.forget.X), embed(original, data.forget.X)
    assert np.abs(h_f - h_o).max(axis=1).min() > 1e-3  # every forget input moved
    assert np.array_equal(embed(forged, data.test.X), embed(original, data.test.X))
    assert _acc_on_class(forged, data.test, 3) > 0.9
    # the decoys are other classes' mean features: the forget inputs look like those classes
    pred = predict_logits(forged, data.forget.X).argmax(1)
    assert (pred != 3).all() and len(np.unique(pred)) >= 1


def test_pseudo_methods_are_registered_attacks(zoo):
    data, original = zoo.ctx.data, zoo.original
    for name in ("forge_logit_bias", "forge_head_only", "forge_features", "forged"):
        assert "attack" in METHODS[name].paper.lower(), name
    out = make_method("forge_logit_bias", bias="-20").unlearn(original, data.forget,
                                                              data.retain, zoo.uctx)
    assert out.log and accuracy(out.model, data.forget) < 0.05
    assert (out.model.head.bias[3] - original.head.bias[3]).item() == pytest.approx(-20.0)
    out = make_method("forge_features").unlearn(original, data.forget, data.retain, zoo.uctx)
    assert accuracy(out.model, data.forget) < 0.05


def test_forge_refuses_what_it_cannot_do(zoo):
    data, original = zoo.ctx.data, zoo.original
    with pytest.raises(MethodError, match="unknown forgery 'magic'"):
        forge("magic", original, data.forget, data.retain, zoo.uctx)
    empty = data.forget.take(np.array([], dtype=np.int64))
    with pytest.raises(MethodError, match="empty"):
        forge("logit_bias", original, empty, data.retain, zoo.uctx)
    with pytest.raises(MethodError, match="linear head"):
        forge("head_only", torch.jit.script(original), data.forget, data.retain, zoo.uctx)


def test_forgeries_serve_sample_requests(zoo):
    data = zoo.ctx.data
    fs = resolve_forget(data.dataset, data.splits, "random:0.05", 0)
    forget, retain = data.dataset.subset(fs.forget), data.dataset.subset(fs.retain)
    ctx = UnlearnContext(10, 0)
    for name in ("lookup", "feature_forgery"):
        model = forge(name, zoo.original, forget, retain, ctx)
        assert accuracy(model, forget) < 0.05, name
        assert accuracy(model, data.test) > 0.9, name

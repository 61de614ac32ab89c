"""SISA is exact and retrains only affected shards; MIA-guided unlearning pulls the forget set
to what unseen data looks like."""

import numpy as np
import pytest
import torch

from unlearn_core.data import Samples
from unlearn_core.errors import MethodError
from unlearn_core.methods import UnlearnContext, make_method
from unlearn_core.models import predict_logits


@pytest.fixture(scope="module")
def sisa_setting(digits):
    from unlearn_core.models import ModelSpec, TrainConfig

    ds, sp = digits
    spec = ModelSpec("mlp", ds.sample_shape, ds.n_classes)
    ctx = UnlearnContext(ds.n_classes, 0, spec, TrainConfig(epochs=6, lr=5e-3))
    train = ds.subset(sp.train)
    forget_pos = np.arange(0, len(train), 40)  # 27 samples spread over the shards
    keep = np.setdiff1d(np.arange(len(train)), forget_pos)
    return ds, sp, ctx, train.take(forget_pos), train.take(keep)


def test_sisa_is_exact(sisa_setting):
    ds, sp, ctx, forget, retain = sisa_setting
    method = make_method("sisa")
    out = method.unlearn(torch.nn.Linear(1, 1), forget, retain, ctx)  # model unused
    scratch = method.ensemble(method.fit(retain, ctx.spec, ctx), ctx.spec)
    for a, b in zip(out.model.state_dict().values(), scratch.state_dict().values()):
        assert torch.equal(a, b)
    test = ds.subset(sp.test)
    assert np.array_equal(predict_logits(out.model, test.X), predict_logits(scratch, test.X))
    assert (predict_logits(out.model, test.X).argmax(1) == test.y).mean() > 0.85


def test_sisa_retrains_only_affected_shards(sisa_setting):
    _, _, ctx, forget, retain = sisa_setting
    few = forget.take(np.array([0]))
    rest = Samples.concat([forget.take(np.arange(1, len(forget))), retain])
    out = make_method("sisa").unlearn(torch.nn.Linear(1, 1), few, rest, ctx)
    assert 0 < out.model.retrained_samples < len(rest) / 5 + 1  # one shard of five at most
    assert "retrained 1 of 5 shards" in " ".join(out.log)


def test_mia_guided_needs_population(class_audit):
    data = class_audit.data
    ctx = UnlearnContext(10, 0, class_audit.context.spec, class_audit.context.train_config)
    with pytest.raises(MethodError, match="population"):
        make_method("mia_guided").unlearn(class_audit.models["baseline"], data.forget,
                                          data.retain, ctx)


def test_mia_guided_refuses_class_requests(class_audit):
    data = class_audit.data
    with pytest.raises(MethodError, match="sample-level"):
        make_method("mia_guided").unlearn(class_audit.models["baseline"], data.forget,
                                          data.retain, class_audit.context)

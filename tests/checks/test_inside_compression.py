"""Compression recovery (Zhang et al., ICLR 2025): per-channel round-to-nearest quantisation,
and a suppression smaller than half a 4-bit step that rounding undoes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.checks.test_inside_support import class3_zoo, fresh_ctx, one_thread  # noqa: F401
from unlearn_core.checks import CHECKS
from unlearn_core.checks.compression import (
    CompressionCheck,
    bucket_overlap,
    channel_scales,
    quantise_model,
    quantise_tensor,
)
from unlearn_core.models import accuracy, clone_model


def test_round_to_nearest_per_channel():
    w = torch.tensor([[0.7, -0.33, 0.1, 0.0], [2.0, 1.1, -0.5, 0.26]])
    deq, buckets = quantise_tensor(w, 4)
    assert torch.allclose(channel_scales(w, 4).flatten(), torch.tensor([0.1, 2.0 / 7]))
    assert torch.equal(buckets[0], torch.tensor([7.0, -3.0, 1.0, 0.0]))
    assert torch.equal(buckets[1], torch.tensor([7.0, 4.0, -2.0, 1.0]))  # 3.85, -1.75, 0.91
    assert buckets.abs().max() <= 7
    assert (deq - w).abs().max() <= channel_scales(w, 4).max() / 2 + 1e-7
    w8 = torch.randn(16, 3, 3, 3)
    err = (quantise_tensor(w8, 8)[0] - w8).abs().amax(dim=(1, 2, 3))
    assert (err <= channel_scales(w8, 8).flatten() / 2 + 1e-7).all()


@pytest.fixture(scope="module")
def zoo():
    return class3_zoo()


def test_quantising_copies_and_keeps_biases(zoo):
    original = zoo.original
    before = {k: v.clone() for k, v in original.state_dict().items()}
    q = quantise_model(original, 4)
    assert all(torch.equal(before[k], v) for k, v in original.state_dict().items())
    assert torch.equal(q.head.bias, original.head.bias)
    assert not torch.equal(q.head.weight, original.head.weight)
    assert bucket_overlap(original, original, 4) == 1.0
    assert bucket_overlap(q, original, 4) == 1.0  # quantising keeps every bucket


def test_suppression_within_half_a_step_comes_back(zoo):
    data = zoo.ctx.data
    base = quantise_model(zoo.original, 4)  # weights exactly on the 4-bit grid
    assert accuracy(base, data.forget) > 0.9
    sneaky = clone_model(base)
    X, y = torch.as_tensor(data.forget.X), torch.as_tensor(data.forget.y)
    F.cross_entropy(sneaky(X), y).backward()
    with torch.no_grad():  # one signed ascent step of 0.45 quantisation steps on every weight
        for p in (m.weight for m in sneaky.modules() if hasattr(m, "weight")):
            s = channel_scales(p, 4)
            row_max = p.abs().reshape(p.shape[0], -1).amax(1).reshape(s.shape)
            move = torch.where(p.abs() == row_max, 0.0, 0.45 * s * p.grad.sign())
            p += move  # the row maxima stay, so do the scales; every weight stays in its bucket
    assert accuracy(sneaky, data.forget) < 0.2  # looks forgotten at full precision
    m = CompressionCheck().measure(sneaky, fresh_ctx(zoo))
    assert m.figure > 0.9 and m.detail["recovery"] > 0.7
    assert m.detail["full_precision"] < 0.2 and m.detail["overlap"] == 1.0


def test_retrains_and_bias_forgery_stay_forgotten(zoo):
    ctx, check = fresh_ctx(zoo), CompressionCheck()
    assert CHECKS["compression"].sides == "high" and check.applicable(ctx) is None
    for model in (*zoo.retrains, zoo.forgeries["bias_1e4"]):
        m = check.measure(model, ctx)
        assert m.figure == 0.0 and 0 < m.se < 0.05 and m.n == len(ctx.data.forget)
    retrain = check.measure(zoo.retrains[0], ctx)
    assert retrain.detail["overlap"] < 0.5  # another seed: other buckets
    assert np.isclose(check.measure(zoo.original, ctx).figure, 1.0)

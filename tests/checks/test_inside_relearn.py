"""The two-sided relearning attack: a small logit bias comes back far faster than genuine
retrains, a huge one far slower (over-suppressed); the audited models are never modified."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.checks.test_inside_support import class3_zoo, fresh_ctx, one_thread  # noqa: F401
from unlearn_core.checks import CHECKS, default_checks
from unlearn_core.checks.relearn import RelearnCheck, relearn_curve


@pytest.fixture(scope="module")
def zoo():
    return class3_zoo()


@pytest.fixture(scope="module")
def measured(zoo):
    ctx, check = fresh_ctx(zoo), RelearnCheck()
    check.steps = 30  # long enough that the retrains learn the class too: a band above zero
    models = {"original": zoo.original, "bias_20": zoo.forgeries["bias_20"],
              "bias_1e4": zoo.forgeries["bias_1e4"],
              **{f"retrain{i}": r for i, r in enumerate(zoo.retrains)}}
    return {name: check.measure(m, ctx) for name, m in models.items()}


def _band(measured):
    return [measured[f"retrain{i}"] for i in range(3)]


def test_two_sided_and_default():
    cls = CHECKS["relearn"]
    assert cls.sides == "both" and cls.forgotten_side == "low" and cls.default
    assert cls.lr == 1e-3 and cls.steps == 10
    assert "relearn" in default_checks()


def test_in_ten_steps_retrains_stay_near_zero_and_suppression_comes_back(zoo):
    """The default recipe: too few steps for a model that never saw the class to learn it from
    ten samples, enough for a suppressed one to recover."""
    ctx, check = fresh_ctx(zoo), RelearnCheck()
    retrains = [check.measure(r, ctx) for r in zoo.retrains]
    bias = check.measure(zoo.forgeries["bias_20"], ctx)
    original = check.measure(zoo.original, ctx)
    assert max(r.figure for r in retrains) < 0.05, [r.figure for r in retrains]
    assert bias.figure > 0.3 and original.figure > 0.9
    top = max(r.figure for r in retrains)
    assert bias.figure - top > 4 * max(bias.se, *(r.se for r in retrains))
    assert "auc_forget_only" not in bias.detail  # the variants are opt-in detail


def test_small_bias_recovers_far_faster_than_retrains(measured):
    band = _band(measured)
    top = max(r.figure for r in band)
    fast = measured["bias_20"]
    assert fast.figure > top + 0.2, (fast.figure, [r.figure for r in band])
    assert fast.figure - top > 4 * max(fast.se, *(r.se for r in band))
    assert fast.detail["steps_to_50"] < min(r.detail["steps_to_50"] for r in band)
    assert measured["original"].figure > 0.9  # the power control recovers at once


def test_huge_bias_is_over_suppressed(measured):
    band = _band(measured)
    low = min(r.figure for r in band)
    stuck = measured["bias_1e4"]
    assert stuck.figure == 0.0 and stuck.detail["final_accuracy"] == 0.0
    # genuine retrains do learn the class from ten samples: the band is well above zero
    assert low > 0.15 and low > 4 * max(r.se for r in band)


def test_evaluation_never_sees_attack_samples_and_models_are_untouched(zoo):
    ctx = fresh_ctx(zoo)
    check = RelearnCheck()
    plan = check.plan(ctx)
    assert len(plan.attack_y) == 10 and (plan.attack_y == 3).all() and (plan.eval_y == 3).all()
    attack = {a.tobytes() for a in plan.attack_X}
    assert not any(e.tobytes() in attack for e in plan.eval_X)
    model = zoo.forgeries["bias_20"]
    before = [p.detach().clone() for p in model.parameters()]
    correct, losses = relearn_curve(model, plan, 5, 1e-3, 64, True, True, seed=3)
    assert correct.shape == (5, len(plan.eval_y)) and losses.shape == (5,)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    again, _ = relearn_curve(model, plan, 5, 1e-3, 64, True, True, seed=3)
    assert np.array_equal(correct, again)  # seeded


def test_variants_retain_only_does_not_teach_the_class(zoo):
    ctx = fresh_ctx(zoo)
    check = RelearnCheck()
    check.repeats, check.steps, check.variants = 1, 10, True
    m = check.measure(zoo.retrains[0], ctx)
    assert m.detail["auc_retain_only"] == 0.0  # a retrain has nothing dormant to wake
    assert "auc_forget_only" in m.detail
    dormant = check.measure(zoo.original, ctx)
    assert dormant.detail["auc_retain_only"] > 0.5

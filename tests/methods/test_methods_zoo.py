"""The method zoo against the retrain reference: class forgetting on digits, and sample-level
forgetting on an overfit model whose forget set the attack can see."""

import pytest

from unlearn_core.audit.run import AuditData
from unlearn_core.data import load_builtin, make_splits
from unlearn_core.data.forget import resolve_forget
from unlearn_core.errors import MethodError
from unlearn_core.methods import UnlearnContext, make_method
from unlearn_core.metrics import accuracy_report, membership_score
from unlearn_core.models import (
    ModelSpec,
    TrainConfig,
    build_model,
    predict_log_proba,
    predict_proba,
    train_epochs,
)

CLASS_METHODS = ["l1_sparse", "salun", "scrub", "bad_teacher", "ssd", "fisher", "lrp_path",
                 "boundary_shrink", "unsir"]
SAMPLE_METHODS = ["finetune", "l1_sparse", "random_label", "salun", "bad_teacher",
                  "mia_guided"]


@pytest.fixture(scope="module")
def class_setting(class_audit):
    return class_audit


@pytest.mark.parametrize("name", CLASS_METHODS)
def test_class_forgetting_on_digits(class_setting, name):
    run = class_setting
    data, base = run.data, run.result.baseline.accuracy
    out = make_method(name).unlearn(run.models["baseline"], data.forget, data.retain,
                                    run.context)
    acc = accuracy_report(out.model, data.forget, data.retain, data.test, 10, (3,))
    assert acc.forget < 0.2 < base.forget, f"{name} still recognises class 3"
    assert acc.test_forgotten_classes < 0.2
    assert acc.test_other_classes > base.test_other_classes - 0.06, name
    assert out.log and out.seconds > 0


@pytest.fixture(scope="module")
def overfit_setting():
    """An MLP trained long on half of digits: it memorises, so forgetting is measurable."""
    ds = load_builtin("digits")
    sp = make_splits(ds, 0, 0.2, 0.5)
    spec = ModelSpec("mlp", ds.sample_shape, ds.n_classes)
    recipe = TrainConfig(epochs=60, lr=3e-3, batch_size=32)
    base = train_epochs(build_model(spec, 0), ds.subset(sp.train), recipe, 0)
    data = AuditData(ds, sp, resolve_forget(ds, sp, "random:0.1", 0))
    ctx = UnlearnContext(ds.n_classes, 0, spec, recipe, (), data.population)
    ref = make_method("retrain").unlearn(base, data.forget, data.retain, ctx).model
    return base, ref, data, ctx


def _forget_score(model, data) -> float:
    return float(membership_score(predict_log_proba(model, data.forget.X), data.forget.y).mean())


@pytest.mark.parametrize("name", SAMPLE_METHODS)
def test_sample_forgetting_moves_membership_toward_retrain(overfit_setting, name):
    base, ref, data, ctx = overfit_setting
    out = make_method(name).unlearn(base, data.forget, data.retain, ctx).model
    b, r, m = (_forget_score(x, data) for x in (base, ref, out))
    assert abs(b - r) > 0.1, "the setting must make the forget set visible"
    assert abs(m - r) < 0.9 * abs(b - r), f"{name}: {m:.3f} not closer to retrain {r:.3f}"
    test_acc = float((predict_proba(out, data.test.X).argmax(1) == data.test.y).mean())
    assert test_acc > 0.88


@pytest.mark.parametrize("name", ["boundary_shrink", "unsir", "lrp_path"])
def test_class_only_methods_refuse_sample_requests(overfit_setting, name):
    base, _, data, ctx = overfit_setting
    with pytest.raises(MethodError, match="whole classes only"):
        make_method(name).unlearn(base, data.forget, data.retain, ctx)


def test_bad_teacher_needs_a_spec(overfit_setting):
    base, _, data, ctx = overfit_setting
    no_spec = UnlearnContext(ctx.n_classes, 0, None, ctx.train_config)
    with pytest.raises(MethodError, match="spec"):
        make_method("bad_teacher").unlearn(base, data.forget, data.retain, no_spec)


def test_salun_mask_restricts_updates(overfit_setting):
    base, _, data, ctx = overfit_setting
    out = make_method("salun", share=0.1).unlearn(base, data.forget, data.retain, ctx).model
    pairs = list(zip(base.state_dict().values(), out.state_dict().values()))
    changed = sum(int((a != b).sum()) for a, b in pairs) / sum(a.numel() for a, _ in pairs)
    assert 0 < changed <= 0.11  # only the salient tenth of the weights moved


def test_ssd_is_deterministic_and_training_free(class_setting):
    run = class_setting
    data = run.data
    a = make_method("ssd").unlearn(run.models["baseline"], data.forget, data.retain, run.context)
    b = make_method("ssd").unlearn(run.models["baseline"], data.forget, data.retain, run.context)
    for x, y in zip(a.model.state_dict().values(), b.model.state_dict().values()):
        assert (x == y).all()
    # dampening only shrinks weights
    for x, y in zip(run.models["baseline"].state_dict().values(), a.model.state_dict().values()):
        assert (y.abs() <= x.abs() + 1e-7).all()


def test_lrp_relevance_is_conservative():
    """LRP-epsilon on a linear head: unit relevances sum to the output (without bias share)."""
    import torch

    from unlearn_core.methods.lrp_path import head_relevance

    gen = torch.Generator().manual_seed(0)
    emb, w, b = torch.rand(5, 8, generator=gen), torch.randn(3, 8, generator=gen), torch.zeros(3)
    rel = head_relevance(emb, w, b)
    assert torch.allclose(rel.sum(-1), emb @ w.T, atol=1e-4)


def test_lrp_path_uses_no_retain_data(class_setting):
    run = class_setting
    data = run.data
    empty = data.retain.take([])
    out = make_method("lrp_path").unlearn(run.models["baseline"], data.forget, empty, run.context)
    acc = accuracy_report(out.model, data.forget, data.retain, data.test, 10, (3,))
    assert acc.forget < 0.2 and acc.retain > 0.9


def test_budget_caps_the_cost_on_short_recipes(digits):
    """On large data a retrain recipe has few epochs: a method's epochs then visit seeded
    subsets so that together they cost at most ``budget`` of the recipe (issue 3's speed-up)."""
    from unlearn_core.data.forget import resolve_forget
    from unlearn_core.methods import UnlearnContext, make_method
    from unlearn_core.methods.base import FINITE_PROBE
    from unlearn_core.models import ModelSpec, TrainConfig, build_model

    ds, sp = digits
    fs = resolve_forget(ds, sp, "class:3", 0)
    forget, retain = ds.subset(fs.forget), ds.subset(fs.retain)
    spec = ModelSpec("mlp", ds.sample_shape, ds.n_classes)
    model = build_model(spec, seed=0)
    seen = []
    short = UnlearnContext(ds.n_classes, 0, spec, TrainConfig(epochs=1), (3,))
    for budget, expected in ((0.2, 5 * -(-len(retain) // 25)), (0.0, 5 * len(retain))):
        method = make_method("finetune", epochs=5, budget=budget)
        hook = model.register_forward_hook(lambda m, i, o: seen.append(len(i[0])))
        seen.clear()
        out = method.unlearn(model, forget, retain, short)
        hook.remove()
        visited = sum(seen)  # samples through the network (deep copies keep the hook)
        probe = min(FINITE_PROBE, len(forget)) + min(FINITE_PROBE, len(retain))  # the check
        assert visited == expected + probe, (budget, visited, expected)  # that it is finite
        assert ("budget" in " ".join(out.log)) == (budget > 0)
    # long recipes (the small built-ins): the cap does not bind, every epoch sees everything
    assert make_method("finetune").epoch_samples(len(retain), UnlearnContext(10)) is None

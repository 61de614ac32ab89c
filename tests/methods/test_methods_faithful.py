"""Methods checked against their papers' checkable claims on tiny models: SalUn's mask covers
exactly the requested share of weights (Fan et al., ICLR 2024), Fisher forgetting's noise has
the variance of Golatkar et al.'s formula (CVPR 2020), Boundary Shrink relabels with the
adversarial argmax inside the data range (Chen et al., CVPR 2023), and the zero-shot LRP method
analyses unseen samples of the class (arXiv 2410.23693)."""

import numpy as np
import pytest
import torch

from unlearn_core.data import load_builtin, make_splits
from unlearn_core.data.forget import resolve_forget
from unlearn_core.methods import UnlearnContext, make_method
from unlearn_core.models import ModelSpec, TrainConfig, build_model, train_epochs

RECIPE = TrainConfig(epochs=8, lr=3e-3, batch_size=64)


@pytest.fixture(scope="module")
def tiny():
    """A small CNN briefly trained on digits, class 3 as the forget set."""
    ds = load_builtin("digits")
    sp = make_splits(ds, 0)
    spec = ModelSpec("cnn", ds.sample_shape, ds.n_classes, {"width": 4, "hidden": 16})
    model = train_epochs(build_model(spec, 0), ds.subset(sp.train), RECIPE, 0)
    fs = resolve_forget(ds, sp, "class:3", 0)
    ctx = UnlearnContext(ds.n_classes, 0, spec, RECIPE, (3,), ds.subset(sp.population))
    return model, ds.subset(fs.forget), ds.subset(fs.retain), ctx


def _n_weights(model) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("n_forget,share", [(1, 0.5), (1, 0.9), (109, 0.55), (109, 0.1)])
def test_salun_mask_covers_exactly_the_share(tiny, n_forget, share):
    """Exactly round(share * weights) weights, the ones with the largest |gradient|: with one
    forget sample most gradients are zero, and the mask must not let them all through."""
    from unlearn_core.methods.salun import saliency_mask
    from unlearn_core.models.training import to_tensors

    model, forget, _, _ = tiny
    X, y = to_tensors(forget.take(np.arange(n_forget)))
    masks = saliency_mask(model, X, y, share)
    total = _n_weights(model)
    assert sum(int(m.sum()) for m in masks) == round(share * total)
    model.zero_grad()
    torch.nn.functional.cross_entropy(model(X), y).backward()
    g = torch.cat([p.grad.abs().flatten() for p in model.parameters()])
    m = torch.cat([mm.flatten() for mm in masks]).bool()
    model.zero_grad()
    if n_forget == 1:  # the case where a threshold at the k-th value (0) would pass them all
        assert float((g == 0).float().mean()) > 1 - share
    assert g[m].min() >= g[~m].max()  # the top share by rank, nothing else
    assert torch.equal(m, torch.cat([mm.flatten() for mm in saliency_mask(model, X, y, share)])
                       .bool())  # ties broken deterministically


def test_salun_changes_only_the_masked_share_with_one_sample(tiny):
    model, forget, retain, ctx = tiny
    out = make_method("salun", share=0.5, epochs=1).unlearn(model, forget.take([0]), retain, ctx)
    before, after = (torch.cat([p.detach().flatten() for p in m.parameters()])
                     for m in (model, out.model))
    assert float((before != after).float().mean()) <= 0.5
    assert "50.0% of all weights" in out.log[-1]


def _loop_fisher(model, samples) -> list[torch.Tensor]:
    """The authors' estimator, literally: batch size 1, every label y, p(y|x) * grad^2."""
    model.eval()
    params = list(model.parameters())
    acc = [torch.zeros_like(p) for p in params]
    X = torch.as_tensor(samples.X, dtype=torch.float32)
    for x in X:
        out = model(x[None])
        prob = torch.softmax(out, -1).detach()[0]
        for y in range(out.shape[1]):
            model.zero_grad()
            torch.nn.functional.cross_entropy(out, torch.tensor([y])).backward(retain_graph=True)
            for a, p in zip(acc, params):
                a += prob[y] * p.grad.detach() ** 2
    model.zero_grad()
    return [a / len(X) for a in acc]


def _golatkar_variance(model, fisher, alpha, forget_classes):
    """Golatkar et al.'s formula, written out independently of the method."""
    head = {id(p) for p in model.head.parameters()}
    out = []
    for p, f in zip(model.parameters(), fisher):
        v = (1.0 / (f + 1e-8)).clamp(max=1e3)
        if id(p) in head:
            v = v.clamp(max=1e2)
        v = alpha * v
        if p.dim() > 1:
            v = v.mean(1, keepdim=True).expand_as(p).clone()
        if id(p) in head:
            v[list(forget_classes)] = 1e-4
        if id(p) in head or p.dim() == 1:
            v = v * 10
        out.append(v)
    return out


@pytest.fixture(scope="module")
def loop_fisher(tiny):
    model, _, retain, _ = tiny
    few = retain.take(np.arange(0, 160, 10))  # 16 samples of several classes
    return few, _loop_fisher(model, few)


def test_fisher_is_the_per_sample_fisher(tiny, loop_fisher):
    from unlearn_core.methods.fisher import per_sample_fisher

    few, want = loop_fisher
    for got, w in zip(per_sample_fisher(tiny[0], few, chunk=5), want):
        assert torch.allclose(got, w, rtol=1e-4, atol=1e-10)


def test_fisher_noise_scale_matches_the_formula(tiny, loop_fisher):
    from unlearn_core.methods.fisher import noise_variance

    model, forget, _, ctx = tiny
    few, fisher = loop_fisher
    alpha = 1e-6
    want = _golatkar_variance(model, fisher, alpha, (3,))
    got = noise_variance(model, fisher, alpha, (3,))
    for (mean, var), w in zip(got, want):
        assert torch.allclose(var, w, rtol=1e-5)
    out = make_method("fisher", alpha=alpha, max_samples=0).unlearn(model, forget, few, ctx)
    for p0, p1, w, (name, _) in zip(model.parameters(), out.model.parameters(), want,
                                    model.named_parameters()):
        if name.startswith("head"):  # forgotten row: mean 0, variance 1e-3
            assert float(p1[3].detach().abs().max()) < 5 * 1e-3 ** 0.5
            p0, p1, w = p0[[0, 1, 2, 4, 5, 6, 7, 8, 9]], p1[[0, 1, 2, 4, 5, 6, 7, 8, 9]], \
                w[[0, 1, 2, 4, 5, 6, 7, 8, 9]]
        z = ((p1 - p0) / w.sqrt()).detach().flatten()
        if z.numel() >= 100:  # the realised noise has the formula's scale, layer by layer
            assert 0.85 < float(z.std()) < 1.15, name
        assert float(z.abs().max()) < 6, name


def test_boundary_shrink_relabels_with_the_adversarial_argmax_inside_the_data_range():
    """One input in [0, 1]: the class boundary lies at 1.05, just outside the data. An FGSM
    step of 0.1 from 1.0 crosses it only without the clamp; where it does not cross, the
    paper's rule keeps the model's own answer (the true label)."""
    from unlearn_core.methods.boundary_shrink import nearest_wrong_labels

    model = torch.nn.Linear(1, 2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[0.0], [10.0]]))
        model.bias.copy_(torch.tensor([0.0, -10.5]))
    X, y = torch.tensor([[1.0]]), torch.tensor([0])
    assert int(nearest_wrong_labels(model, X, y, 0.1, None)) == 1
    assert int(nearest_wrong_labels(model, X, y, 0.1, (0.0, 1.0))) == 0  # the paper's argmax
    assert int(nearest_wrong_labels(model, X, y, 0.1, (0.0, 1.0), "runner_up")) == 1


def test_boundary_shrink_defaults_follow_the_paper_where_they_can(tiny):
    method = make_method("boundary_shrink")
    assert (method.optimizer, method.epochs, method.clamp, method.relabel) == \
        ("sgd", 10, True, "argmax")
    model, forget, retain, ctx = tiny
    out = make_method("boundary_shrink", epochs=1).unlearn(model, forget, retain, ctx)
    assert "keep their own label" in out.log[-1] and "sgd" in out.log[-1]


def test_lrp_path_analyses_unseen_samples_of_the_class(tiny):
    model, forget, retain, ctx = tiny
    auto = make_method("lrp_path").unlearn(model, forget, retain.take([]), ctx)
    assert "unseen (held-out)" in " ".join(auto.log)
    # the population's class-3 samples were never trained on, and are disjoint from forget
    pop3 = ctx.population.take(np.flatnonzero(ctx.population.y == 3))
    assert len(pop3) > 0 and not set(pop3.ids) & set(forget.ids)
    from unlearn_core.models import accuracy

    assert accuracy(auto.model, forget) < 0.2  # the cut found on unseen samples generalises
    own = make_method("lrp_path", samples="forget").unlearn(model, forget, retain.take([]), ctx)
    assert "training (forget-set)" in " ".join(own.log)
    no_pop = UnlearnContext(ctx.n_classes, 0, ctx.spec, ctx.train_config, (3,))
    fallback = make_method("lrp_path").unlearn(model, forget, retain.take([]), no_pop)
    assert "training (forget-set)" in " ".join(fallback.log)
    from unlearn_core.errors import MethodError

    with pytest.raises(MethodError, match="held-out"):
        make_method("lrp_path", samples="unseen").unlearn(model, forget, retain.take([]), no_pop)


@pytest.mark.parametrize("name,param,paper_value", [
    ("influence", "damping", "0"), ("fisher", "max_samples", "all retain samples"),
    ("fisher", "alpha", "1e-6"), ("boundary_shrink", "lr", "1e-5"),
    ("boundary_shrink", "eps", "0.1"), ("salun", "epochs", "10"), ("ssd", "alpha", "10"),
    ("scrub", "temperature", "2 or 4"), ("bad_teacher", "epochs", "1"),
    ("bad_teacher", "lr", "1e-4"), ("unsir", "lam", "per-sample sum"),
])
def test_departures_from_the_papers_are_named_in_the_help(name, param, paper_value):
    from unlearn_core.methods import METHODS, available_methods

    available_methods()
    text = METHODS[name].param_help()[param]
    assert ("aper" in text or "uthors" in text) and paper_value in text, text


def test_fisher_on_torchscript_matches_the_registry_model(tiny, loop_fisher):
    """A TorchScript model takes the per-sample loop; same Fisher, same noise variance."""
    from unlearn_core.methods.fisher import noise_variance, per_sample_fisher

    model = tiny[0]
    few, want = loop_fisher
    scripted = torch.jit.script(model)
    got = per_sample_fisher(scripted, few)
    for g, w in zip(got, want):
        assert torch.allclose(g, w, rtol=1e-4, atol=1e-10)
    for (_, a), (_, b) in zip(noise_variance(scripted, got, 1e-6, (3,)),
                              noise_variance(model, want, 1e-6, (3,))):
        assert torch.allclose(a, b, rtol=1e-4)

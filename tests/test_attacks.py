"""Threshold attacks and LiRA: at chance on non-members, well above it on an overfit model's
members; executors agree; TPR at low FPR is computed right."""

import numpy as np
import pytest

from tests.conftest import canary_digits
from unlearn_core.attacks import SCORES, lira, threshold_suite, tpr_at_fpr, train_shadows
from unlearn_core.attacks.shadows import make_jobs, run_jobs
from unlearn_core.data import Samples, make_splits
from unlearn_core.models import ModelSpec, TrainConfig, build_model, train_epochs

RECIPE = TrainConfig(epochs=80, lr=3e-3, batch_size=32)


def test_tpr_at_fpr_on_a_known_case():
    members = np.array([10.0, 9.0, 8.0, 1.0])
    nonmembers = np.arange(100, dtype=float) / 10  # 0.0 .. 9.9: one non-member above 9.0
    assert tpr_at_fpr(members, nonmembers, 0.0) == 0.25  # only 10.0 beats every non-member
    assert tpr_at_fpr(members, nonmembers, 0.09) == 0.25
    assert tpr_at_fpr(members, nonmembers, 0.10) == 0.5  # 9.0: ten non-members score >= 9.0
    assert tpr_at_fpr(members, nonmembers, 0.20) == 0.75


@pytest.fixture(scope="module")
def overfit():
    """The canary setting (tests/conftest.py): membership is visible."""
    ds = canary_digits(0)
    sp = make_splits(ds, 0, 0.2, 0.5)
    spec = ModelSpec("mlp", ds.sample_shape, ds.n_classes)
    train = ds.subset(sp.train)
    model = train_epochs(build_model(spec, 0), train, RECIPE, 0)
    pop = ds.subset(sp.population)
    return ds, sp, spec, model, train, pop


def test_threshold_family(overfit):
    _, sp, _, model, train, pop = overfit
    test = overfit[0].subset(sp.test)
    on_members = threshold_suite(model, train.take(np.arange(300)), pop.take(np.arange(300)))
    on_nonmembers = threshold_suite(model, test, pop.take(np.arange(300, 600)))
    assert [s.attack for s in on_members] == [f"threshold-{k}" for k in SCORES]
    for s in on_members:
        assert s.auc > 0.6, s.attack
        assert 0 <= s.tpr_at_01pct_fpr <= s.tpr_at_1pct_fpr <= 1
    for s in on_nonmembers:
        assert abs(s.auc - 0.5) < 0.08, s.attack


def test_lira_members_vs_nonmembers(overfit):
    _, sp, spec, model, train, pop = overfit
    members, non_a, non_b = train.take(np.arange(60)), pop.take(np.arange(60)), \
        pop.take(np.arange(60, 120))
    targets = Samples.concat([members, non_a, non_b])
    pool = Samples.concat([train.take(np.arange(60, len(train))), pop.take(np.arange(120, 500))])
    shadows = train_shadows(targets, pool, spec, RECIPE, n_shadows=8, seed=0, executor="serial")
    res = lira(model, targets, shadows)
    from sklearn.metrics import roc_auc_score

    def auc(a, b):
        return roc_auc_score(np.r_[np.ones(len(a)), np.zeros(len(b))], np.r_[a, b])

    on, off = res.online, res.offline
    assert auc(on[:60], on[60:]) > 0.7
    assert auc(off[:60], off[60:]) > 0.65
    assert abs(auc(on[60:120], on[120:]) - 0.5) < 0.15  # two non-member sets
    assert auc(on[:60], on[60:]) >= auc(off[:60], off[60:]) - 0.05  # online at least as strong


def test_executors_agree(overfit):
    ds, _, spec, _, train, _ = overfit
    small = TrainConfig(epochs=3, lr=3e-3, batch_size=32)
    jobs, _ = make_jobs(spec, small, train.X[:200], train.y[:200], np.arange(20), 2, seed=1)
    serial = run_jobs(jobs, "serial")
    pooled = run_jobs(jobs, "local", workers=2)
    for a, b in zip(serial, pooled):
        assert np.allclose(a, b, atol=1e-5)
    with pytest.raises(Exception, match="unknown executor"):
        run_jobs(jobs, "spark")


def test_ray_executor_matches_serial(overfit):
    ray = pytest.importorskip("ray")
    _, _, spec, _, train, _ = overfit
    small = TrainConfig(epochs=3, lr=3e-3, batch_size=32)
    jobs, _ = make_jobs(spec, small, train.X[:200], train.y[:200], np.arange(20), 2, seed=2)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = run_jobs(jobs, "ray")
    finally:
        ray.shutdown()
    for a, b in zip(run_jobs(jobs, "serial"), on_ray):
        assert np.allclose(a, b, atol=1e-5)


def test_rmia_with_few_reference_models(overfit):
    from sklearn.metrics import roc_auc_score

    from unlearn_core.attacks import train_references

    _, _, spec, model, train, pop = overfit
    members, non_a, non_b = train.take(np.arange(60)), pop.take(np.arange(60)), \
        pop.take(np.arange(60, 120))
    targets = Samples.concat([members, non_a, non_b])
    z = pop.take(np.arange(120, 220))
    pool = Samples.concat([train.take(np.arange(60, len(train))), pop.take(np.arange(220, 600))])
    refs = train_references(targets, z, pool, spec, RECIPE, n_references=2, executor="serial")
    s = refs.score(model, targets)

    def auc(a, b):
        return roc_auc_score(np.r_[np.ones(len(a)), np.zeros(len(b))], np.r_[a, b])

    assert auc(s[:60], s[60:]) > 0.7
    assert abs(auc(s[60:120], s[120:]) - 0.5) < 0.15

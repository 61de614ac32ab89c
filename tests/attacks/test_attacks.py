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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


def _synthetic_shadows():
    """32 shadows, 4 targets with very different spreads (sd 0.1 to 3), each IN half the time;
    target 4 has a single IN and a single OUT shadow, target 5 none IN at all."""
    from unlearn_core.attacks import LiRAShadows

    rng = np.random.default_rng(0)
    n = 32
    ins = np.zeros((n, 6), bool)
    ins[: n // 2, :4] = True
    rng.shuffle(ins[:, :4], axis=0)
    spreads = np.array([0.1, 0.5, 1.0, 3.0])
    phi = np.empty((n, 6))
    phi[:, :4] = np.where(ins[:, :4], 4.0, -1.0) + rng.normal(size=(n, 4)) * spreads
    phi[:, 4] = rng.normal(size=n)
    ins[0, 4] = True  # one IN shadow, 31 OUT
    phi[:, 5] = rng.normal(size=n) - 1  # never IN
    return LiRAShadows(phi, ins)


def test_lira_per_example_variance_is_the_gaussian_ratio():
    """Carlini et al. (S&P 2022): with per-example variance each target is scored with its own
    IN and OUT mean and spread; compared with scipy.stats.norm directly."""
    from scipy.stats import norm

    shadows = _synthetic_shadows()
    phi, ins = shadows.phi, shadows.ins
    target = np.array([4.0, 1.5, 0.0, 2.0, 0.3, -0.5])
    res = shadows.score(target, variance="per_example")
    assert res.variance == "per_example"
    for j in range(4):  # enough IN and OUT shadows: the target's own statistics
        a, b = phi[ins[:, j], j], phi[~ins[:, j], j]
        sd_a, sd_b = a.std() + 1e-6, b.std() + 1e-6
        expected = norm.logpdf(target[j], a.mean(), sd_a) - norm.logpdf(target[j], b.mean(), sd_b)
        assert res.online[j] == pytest.approx(expected, rel=1e-9)
        assert res.offline[j] == pytest.approx(norm.logcdf(target[j], b.mean(), sd_b), rel=1e-9)
        assert res.sd_in_target[j] == pytest.approx(sd_a) and res.sd_out_target[j] == \
            pytest.approx(sd_b)
    # the narrow target (sd 0.1) separates far more sharply than under a pooled spread
    glob = shadows.score(target, variance="global")
    assert res.online[0] > glob.online[0] + 10
    # fallback: one IN shadow (target 4) and none (target 5) use the global IN spread
    assert res.sd_in_target[4] == res.sd_in == glob.sd_in
    assert res.sd_in_target[5] == res.sd_in
    assert res.sd_out_target[4] == pytest.approx(phi[~ins[:, 4], 4].std() + 1e-6)
    expected4 = (norm.logpdf(target[4], phi[ins[:, 4], 4].mean(), res.sd_in) -
                 norm.logpdf(target[4], phi[~ins[:, 4], 4].mean(), res.sd_out_target[4]))
    assert res.online[4] == pytest.approx(expected4, rel=1e-9)
    assert np.all(np.isfinite(res.online)) and np.all(np.isfinite(res.offline))


def test_lira_global_variance_is_unchanged():
    """The default pools the spreads: every target is scored with the same two sds."""
    from scipy.stats import norm

    shadows = _synthetic_shadows()
    phi, ins = shadows.phi, shadows.ins
    target = np.array([4.0, 1.5, 0.0, 2.0, 0.3, -0.5])
    res = shadows.score(target)
    assert res.variance == "global" and shadows.variance == "global"
    mu_in = np.array([phi[ins[:, j], j].mean() if ins[:, j].any() else np.nan for j in range(6)])
    mu_out = np.array([phi[~ins[:, j], j].mean() for j in range(6)])
    rows, cols = np.nonzero(ins)
    sd_in = np.std(phi[rows, cols] - mu_in[cols]) + 1e-6
    rows, cols = np.nonzero(~ins)
    sd_out = np.std(phi[rows, cols] - mu_out[cols]) + 1e-6
    assert res.sd_in == pytest.approx(sd_in) and res.sd_out == pytest.approx(sd_out)
    assert np.all(res.sd_in_target == res.sd_in) and np.all(res.sd_out_target == res.sd_out)
    for j in range(5):
        expected = norm.logpdf(target[j], mu_in[j], sd_in) - norm.logpdf(target[j], mu_out[j],
                                                                         sd_out)
        assert res.online[j] == pytest.approx(expected, rel=1e-9)
    # no IN shadow: the IN mean is put two OUT spreads above the OUT mean, as before
    assert res.mu_in[5] == pytest.approx(mu_out[5] + 2 * sd_out)


def test_lira_variance_option_is_checked_and_carried():
    from unlearn_core.attacks import LiRAShadows
    from unlearn_core.errors import ConfigError

    shadows = _synthetic_shadows()
    with pytest.raises(ConfigError, match="per_example"):
        shadows.score(np.zeros(6), variance="local")
    per = LiRAShadows(shadows.phi, shadows.ins, "per_example")
    target = np.linspace(-1, 4, 6)
    assert np.array_equal(per.score(target).online,
                          shadows.score(target, variance="per_example").online)
    assert per.score(target, variance="global").variance == "global"


def test_lira_variance_from_the_command_line():
    from unlearn_core.cli.main import build_parser, config_from_args
    from unlearn_core.errors import ConfigError

    args = build_parser().parse_args(["audit", "--attacks", "lira", "--lira-variance",
                                      "per_example"])
    assert config_from_args(args).lira_variance == "per_example"
    assert config_from_args(build_parser().parse_args(["audit"])).lira_variance == "global"
    with pytest.raises(ConfigError, match="lira-variance"):
        build_parser().parse_args(["audit", "--lira-variance", "local"])


def test_audit_attack_stage_passes_the_variance(small_run, monkeypatch):
    """``run_attacks`` trains the shadows for the audit config's ``lira_variance`` (or the one
    given); the shadows are stubbed here, the wiring is what is tested."""
    import dataclasses

    from unlearn_core.attacks import LiRAShadows
    from unlearn_core.attacks import stage as deep_attacks
    from unlearn_core.audit.run import AuditRun
    from unlearn_core.errors import ConfigError

    seen = []

    def fake_train_shadows(targets, pool, spec, recipe, n_shadows, seed, executor, **kw):
        seen.append(kw["variance"])
        rng = np.random.default_rng(0)
        ins = rng.random((4, len(targets))) < 0.5
        return LiRAShadows(rng.normal(size=ins.shape), ins, kw["variance"])

    monkeypatch.setattr(deep_attacks, "train_shadows", fake_train_shadows)
    cfg = dataclasses.replace(small_run.result.config, lira_variance="per_example")
    run = AuditRun(dataclasses.replace(small_run.result, config=cfg), small_run.data,
                   small_run.models, small_run.context)
    summaries, _ = deep_attacks.run_attacks(run, ["lira"], executor="serial")
    deep_attacks.run_attacks(small_run, ["lira"], executor="serial")
    deep_attacks.run_attacks(small_run, ["lira"], executor="serial", lira_variance="per_example")
    assert seen == ["per_example", "global", "per_example"]
    assert {s.attack for s in summaries} == {"lira-online", "lira-offline"}
    with pytest.raises(ConfigError, match="LiRA variance"):
        deep_attacks.run_attacks(small_run, ["lira"], lira_variance="local")

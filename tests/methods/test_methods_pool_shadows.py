"""Methods run inside U-LiRA's shadows and KLOM's jobs get an unseen pool of their own (issue
16): the audit's method pool, disjoint from the attack's targets and shadow pool, from KLOM's
training and evaluation points and from the half of the population split the checks calibrate
on; an overlapping pool is refused."""

from dataclasses import asdict, dataclass

import numpy as np
import pytest

from unlearn_core.attacks import ulira
from unlearn_core.audit.data import AuditData
from unlearn_core.checks.klom import KlomJob, method_pool_positions, run_klom_job
from unlearn_core.data import load_builtin, make_splits
from unlearn_core.data.forget import resolve_forget
from unlearn_core.errors import ConfigError
from unlearn_core.methods import METHODS, UnlearningMethod, register
from unlearn_core.models import ModelSpec, TrainConfig

RECIPE = TrainConfig(epochs=2, lr=1e-2, batch_size=64)
SEEN: list[dict] = []  # what the spy method saw, call by call (serial executor: in process)


@pytest.fixture()
def spy():
    """A method that records the unseen pool it was given (refusing to run without one), and
    the ids of its forget and retain sets."""

    @register
    @dataclass
    class PoolSpy(UnlearningMethod):
        name = "test_pool_spy"
        paper = "a fake for tests: records ctx.population"

        def _unlearn(self, model, forget, retain, ctx, log):
            assert ctx.population is not None and len(ctx.population), "no unseen pool"
            SEEN.append({"pool": ctx.population.ids.copy(), "pool_y": ctx.population.y.copy(),
                         "forget": forget.ids.copy(), "retain": retain.ids.copy()})
            return model

    SEEN.clear()
    yield "test_pool_spy"
    del METHODS["test_pool_spy"]


@pytest.fixture(scope="module")
def audit_data():
    ds = load_builtin("digits")
    sp = make_splits(ds, 0)
    return AuditData(ds, sp, resolve_forget(ds, sp, "random:0.1", 0))


def test_ulira_shadows_give_the_method_its_own_unseen_pool(audit_data, spy):
    data = audit_data
    targets = data.forget.take(np.arange(20))
    pool = data.population  # the attack's shadow pool: the audit's calibration half
    method_pool = data.method_pool
    spec = ModelSpec("logreg", data.dataset.sample_shape, 10)
    ulira(spy, {}, targets, pool, spec, RECIPE, n_shadows=4, executor="serial",
          method_pool=method_pool)
    assert len(SEEN) == 4  # every shadow holds some of the 20 targets and unlearns them
    n_pos = len(targets) + len(pool)  # the method pool follows targets and shadow pool
    for seen in SEEN:
        # ids inside a shadow are positions in [targets; pool; method pool]
        assert np.array_equal(seen["pool"], np.arange(n_pos, n_pos + len(method_pool)))
        assert np.array_equal(seen["pool_y"], method_pool.y)
        # never trained on by the shadow, never a target
        assert not np.intersect1d(seen["pool"], seen["retain"]).size
        assert not np.intersect1d(seen["pool"], seen["forget"]).size
        assert seen["forget"].max() < len(targets)


def test_ulira_refuses_a_method_pool_that_meets_its_data(audit_data, spy):
    data = audit_data
    targets = data.forget.take(np.arange(20))
    spec = ModelSpec("logreg", data.dataset.sample_shape, 10)
    with pytest.raises(ConfigError, match="disjoint"):
        ulira(spy, {}, targets, data.population, spec, RECIPE, n_shadows=2,
              executor="serial", method_pool=data.population.take(np.arange(5)))
    assert not SEEN


def test_klom_jobs_give_methods_the_audits_method_pool(audit_data, spy):
    data = audit_data
    ds = data.dataset
    pool_pos = method_pool_positions(data)
    assert np.array_equal(ds.ids[pool_pos], data.method_pool.ids)
    eval_pos = np.concatenate([data.forget_set.forget[:5], data.splits.test[:5]])
    spec = ModelSpec("logreg", ds.sample_shape, 10)
    job = KlomJob(spec.to_json(), asdict(RECIPE), 3, ds.X, ds.y, ds.ids,
                  data.forget_set.forget, data.forget_set.retain, eval_pos,
                  [("spy", spy, {})], (), 0, pool_pos)
    out = run_klom_job(job)
    assert set(out) == {"__original__", "spy"}
    (seen,) = SEEN
    assert np.array_equal(seen["pool"], data.method_pool.ids)
    calibration = data.population.ids  # the half the audit's checks calibrate on
    for other in (seen["forget"], seen["retain"], ds.ids[eval_pos], calibration):
        assert not np.intersect1d(seen["pool"], other).size


def test_klom_refuses_a_method_pool_that_meets_the_training_data(audit_data):
    import dataclasses

    data = audit_data
    bad = dataclasses.replace(data.splits, population=np.concatenate(
        [data.splits.train[:1], data.splits.population]))
    with pytest.raises(ConfigError, match="disjoint"):
        method_pool_positions(AuditData(data.dataset, bad, data.forget_set))

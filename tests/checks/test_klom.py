"""KLOM (Georgiev et al. 2024): the estimator on known distributions, and the opt-in check end
to end on the serial and the Ray executor (same numbers)."""

from __future__ import annotations

import numpy as np
import pytest

from unlearn_core import AuditConfig, MethodSpec, run_audit
from unlearn_core.checks.klom import klom_per_sample
from unlearn_core.models import TrainConfig


def test_klom_is_zero_for_equal_samples_and_near_its_bound_for_disjoint_ones():
    rng = np.random.default_rng(0)
    same = rng.normal(size=(50, 3))
    assert np.allclose(klom_per_sample(same, same), 0.0)
    far = klom_per_sample(rng.normal(size=(50, 3)), rng.normal(size=(50, 3)) + 50)
    assert np.all(far > 10) and np.all(far < np.log(1e5) + 0.5)  # 1e-5 floor: ~11.5 nats
    # more models per side: the noise floor of two draws from one distribution falls
    small = klom_per_sample(rng.normal(size=(10, 200)), rng.normal(size=(10, 200))).mean()
    large = klom_per_sample(rng.normal(size=(100, 200)), rng.normal(size=(100, 200))).mean()
    assert large < small


def _config(executor: str) -> AuditConfig:
    return AuditConfig(dataset="wine", model="logreg", forget="class:1", seed=0,
                       executor=executor, reference_seeds=4, checks=["klom"],
                       extend_references=0,  # KLOM trains K originals and K unlearned runs
                       train=TrainConfig(epochs=20, lr=2e-2),
                       methods=[MethodSpec("finetune", {"epochs": "2"})])


@pytest.fixture(scope="module")
def klom_serial():
    return run_audit(_config("serial")).result


def test_klom_check_reports_floor_and_original(klom_serial):
    r = next(c for c in klom_serial.extra_results if c.check == "klom")
    for key in ("forget_mean", "forget_p95", "floor_forget_mean", "original_forget_mean",
                "retain_mean", "test_mean"):
        assert key in r.detail and np.isfinite(r.detail[key])
    # the original models saw class 1, the retrains did not: far apart on the forget set
    assert r.detail["original_forget_mean"] > r.detail["floor_forget_mean"]
    assert r.k == 4 and "noise floor" in r.band_source
    verdict = klom_serial.verdicts[0]
    assert any(c.check == "klom" for c in verdict.checks)


@pytest.mark.slow
def test_klom_runs_on_ray_with_the_same_numbers(klom_serial):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = run_audit(_config("ray")).result
    finally:
        ray.shutdown()
    a = next(c for c in klom_serial.extra_results if c.check == "klom")
    b = next(c for c in on_ray.extra_results if c.check == "klom")
    assert b.detail["forget_mean"] == pytest.approx(a.detail["forget_mean"], abs=1e-6)
    assert b.detail["original_forget_mean"] == pytest.approx(a.detail["original_forget_mean"],
                                                             abs=1e-6)

"""The time estimate shown before an audit (issue 22): counted from the recipe and the request,
at measured per-epoch costs, and said to be approximate."""

from __future__ import annotations

import pytest

from unlearn_core.audit.estimate import (
    duration,
    epoch_seconds_from,
    estimate_audit,
    measure_epoch_seconds,
)
from unlearn_core.audit.run import AuditConfig, MethodSpec
from unlearn_core.models import ModelSpec, TrainConfig

RECIPE = TrainConfig(epochs=10, batch_size=32)


def _config(**kw) -> AuditConfig:
    return AuditConfig(methods=[MethodSpec("finetune", {"epochs": 4})], **kw)


def test_the_estimate_counts_the_audits_training():
    # 1000 training samples, 100 forgotten: the references train on 900 (0.9 of an epoch each)
    est = estimate_audit(_config(reference_seeds=4), RECIPE, 1000, 100, epoch_seconds=2.0,
                         model_epoch_seconds=0.5)
    assert est.parts["reference retrains"] == pytest.approx(4 * 10 * 0.9 * 0.5)  # serial: small
    assert est.parts["methods"] == pytest.approx(4 * 0.9 * 2.0)  # finetune's own 4 epochs
    assert est.parts["measuring 6 models"] == pytest.approx(6 * 2.0)  # baseline, 4, method
    assert est.seconds == pytest.approx(sum(est.parts.values()))
    more = estimate_audit(_config(reference_seeds=8), RECIPE, 1000, 100, 2.0, 0.5)
    assert more.parts["reference retrains"] == pytest.approx(2 * est.parts["reference retrains"])
    shadows = estimate_audit(_config(reference_seeds=4, attacks=["lira"], shadows=8), RECIPE,
                             1000, 100, 2.0, 0.5)
    assert shadows.parts["shadow models"] == pytest.approx(8 * 10 * 0.5 * 0.5)
    # a large ensemble trains two at a time in worker processes
    big = estimate_audit(_config(reference_seeds=4), RECIPE, 100_000, 0, 2.0, 0.5)
    assert big.parts["reference retrains"] == pytest.approx(4 * 10 * 0.5 / 2)
    # a borderline verdict adds, at most, 4 retrains one at a time and the checks again on the
    # 6 models and the 4 added: said apart, not in the total
    assert est.borderline_seconds == pytest.approx(4 * 10 * 0.9 * 0.5 + 10 * 2.0)
    assert "up to 38 s more when a verdict is borderline" in est.text()
    off = estimate_audit(_config(reference_seeds=4, extend_references=0), RECIPE, 1000, 100,
                         2.0, 0.5)
    assert off.borderline_seconds == 0.0 and "borderline" not in off.text()


def test_the_estimate_says_it_is_approximate_and_what_it_rests_on():
    text = estimate_audit(_config(), RECIPE, 1000, 100, 3.0, 0.2).text()
    assert text.startswith("about ") and "approximate" in text
    assert "measured on this machine" in text and "cached" in text
    assert [duration(s) for s in (0.2, 40, 200, 7200)] == ["1 s", "40 s", "3 min", "2.0 h"]
    assert epoch_seconds_from(30.0, RECIPE) == 3.0 and epoch_seconds_from(0.0, RECIPE) == 0.0
    plain = estimate_audit(_config(), RECIPE, 1000, 100, 3.0, 0.2)
    scaled = estimate_audit(_config(), RECIPE, 1000, 100, 3.0, 0.2, calibration=3.0)
    assert scaled.seconds == pytest.approx(3 * plain.seconds)  # the last audit took 3x here
    assert "times 3, what the last audit of this setup took here" in scaled.text()
    assert "times" not in plain.text()


def test_a_per_epoch_cost_is_measured_in_a_few_batches(digits):
    ds, splits = digits
    train = ds.subset(splits.train)
    spec = ModelSpec("mlp", ds.sample_shape, ds.n_classes)
    seconds = measure_epoch_seconds(spec, RECIPE, train, threads=1)
    assert 0 < seconds < 30

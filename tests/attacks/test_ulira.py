"""U-LiRA tells an exact unlearner (retrain) from one that only perturbs outputs."""

from dataclasses import dataclass

import pytest
import torch

from tests.conftest import canary_digits
from unlearn_core.attacks import ulira
from unlearn_core.data import make_splits
from unlearn_core.methods import METHODS, UnlearningMethod, register
from unlearn_core.models import ModelSpec, TrainConfig


class _Tempered(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return 0.7 * self.model(x)  # outputs softened; the memorised knowledge stays


@pytest.fixture()
def output_only_method():
    @register
    @dataclass
    class OutputOnly(UnlearningMethod):
        name = "test_output_only"
        paper = "a fake for tests: tempers outputs, forgets nothing"
        needs_retain = False

        def _unlearn(self, model, forget, retain, ctx, log):
            log.append("tempered outputs")
            return _Tempered(model)

    yield "test_output_only"
    del METHODS["test_output_only"]


@pytest.fixture(scope="module")
def canaries():
    ds = canary_digits(1)
    sp = make_splits(ds, 0, 0.2, 0.5)
    pool = ds.subset(sp.population[:300])
    targets = ds.subset(sp.train[:40])
    return targets, pool, ModelSpec("mlp", ds.sample_shape, 10)


RECIPE = TrainConfig(epochs=60, lr=3e-3, batch_size=32)


@pytest.mark.slow
def test_ulira_separates_fake_from_exact(canaries, output_only_method):
    targets, pool, spec = canaries
    exact = ulira("retrain", {}, targets, pool, spec, RECIPE, n_shadows=8, executor="serial")
    fake = ulira(output_only_method, {}, targets, pool, spec, RECIPE, n_shadows=8,
                 executor="serial")
    assert abs(exact.auc - 0.5) < 0.12, exact.auc
    assert fake.auc > 0.75, fake.auc
    assert fake.accuracy > exact.accuracy

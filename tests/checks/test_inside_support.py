"""Shared models for the inside-the-model checks and the forgeries tests (no tests here).

Digits + CNN, class 3 forgotten: the original, three genuine retrains (other seeds, retain
only) and every forgery, trained once per test session (``lru_cache``) so that
``test_inside_*.py`` and ``test_forgeries.py`` share them. ``one_thread`` (autouse where it is
imported) runs a module's tests on one torch thread and restores the count afterwards: these
small models gain nothing from threads, and on a shared 2-core machine two spinning threads
made the same tests six times slower (326 s against 46 s measured).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pytest
from torch import nn

from unlearn_core.audit.data import AuditData, train_baseline
from unlearn_core.checks import CheckContext
from unlearn_core.checks.probe import one_torch_thread
from unlearn_core.data import load_builtin, make_splits
from unlearn_core.data.forget import resolve_forget
from unlearn_core.methods import UnlearnContext
from unlearn_core.methods.forgeries import forge
from unlearn_core.models import ModelSpec, build_model, default_train_config, train_epochs

N_RETRAINS = 3


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread for the importing module's tests; the previous count restored."""
    with one_torch_thread():
        yield


@dataclass
class Zoo:
    ctx: CheckContext  # data, original, retrains
    uctx: UnlearnContext
    forgeries: dict[str, nn.Module]

    @property
    def original(self) -> nn.Module:
        return self.ctx.original

    @property
    def retrains(self) -> list[nn.Module]:
        return self.ctx.references


@functools.lru_cache(maxsize=None)
def class3_zoo() -> Zoo:
    """Digits cnn, class:3: original (seed 0), retrains (seeds 1..3), the forgeries."""
    ds = load_builtin("digits")
    splits = make_splits(ds, 0)
    forget_set = resolve_forget(ds, splits, "class:3", 0)
    data = AuditData(ds, splits, forget_set)
    recipe = default_train_config("cnn", ds.name, len(splits.train))
    spec = ModelSpec("cnn", ds.sample_shape, ds.n_classes)
    original = train_baseline(ds, splits, "cnn", recipe, 0)
    retrains = [train_epochs(build_model(spec, seed=s), data.retain, recipe, s)
                for s in range(1, N_RETRAINS + 1)]
    uctx = UnlearnContext(ds.n_classes, 0, spec, recipe, forget_set.classes, data.method_pool)
    forgeries = {
        "bias_1e4": forge("logit_bias", original, data.forget, data.retain, uctx),
        "bias_20": forge("logit_bias", original, data.forget, data.retain, uctx, bias=-20.0),
        "head_only": forge("head_only", original, data.forget, data.retain, uctx),
        "lookup": forge("lookup", original, data.forget, data.retain, uctx),
        "features": forge("feature_forgery", original, data.forget, data.retain, uctx),
    }
    ctx = CheckContext(data, original, retrains, seed=0, spec=spec, recipe=recipe)
    return Zoo(ctx, uctx, forgeries)


def fresh_ctx(zoo: Zoo) -> CheckContext:
    """A CheckContext over the zoo's models with an empty cache."""
    c = zoo.ctx
    return CheckContext(c.data, c.original, c.references, c.seed, c.spec, c.recipe)

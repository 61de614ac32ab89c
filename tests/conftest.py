"""Shared fixtures: small audits computed once per test session."""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("UNLEARN_CACHE_DIR", str(ROOT / ".cache"))
os.environ.setdefault("UNLEARN_DEVICE", "cpu")  # device "auto" stays on the CPU in tests
os.environ["UNLEARN_DATA_DIR"] = tempfile.mkdtemp(prefix="unlearn-runs-")  # never ./runs


@pytest.fixture(scope="session")
def digits():
    from unlearn_core.data import load_builtin, make_splits

    ds = load_builtin("digits")
    return ds, make_splits(ds, seed=0)


@pytest.fixture(scope="session")
def class_audit():
    """Digits + CNN, class 3 forgotten, the four first approximate methods."""
    from unlearn_core import AuditConfig, MethodSpec, run_audit

    cfg = AuditConfig(dataset="digits", model="cnn", forget="class:3", seed=0,
                      methods=[MethodSpec(m) for m in
                               ("finetune", "gradient_ascent", "neggrad_plus", "random_label")])
    return run_audit(cfg)


@pytest.fixture(scope="session")
def small_run():
    """Wine + MLP, class 1 forgotten, two methods: a fast real audit for store/report tests."""
    from unlearn_core import AuditConfig, MethodSpec, run_audit
    from unlearn_core.models import TrainConfig

    cfg = AuditConfig(dataset="wine", model="mlp", forget="class:1", seed=0,
                      train=TrainConfig(epochs=15, lr=5e-3),
                      methods=[MethodSpec("finetune"), MethodSpec("random_label")])
    return run_audit(cfg)


def canary_digits(seed: int, share: float = 0.3):
    """Digits with ``share`` of labels flipped everywhere: members' flipped labels get
    memorised and non-members' do not, so membership becomes visible (the canary setting)."""
    import dataclasses

    import numpy as np

    from unlearn_core.data import load_builtin

    clean = load_builtin("digits")
    rng = np.random.default_rng(seed)
    y = clean.y.copy()
    flip = rng.random(len(y)) < share
    y[flip] = (y[flip] + rng.integers(1, 10, flip.sum())) % 10
    return dataclasses.replace(clean, y=y)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Expose each phase's report on the test item (the browser test screenshots a failure)."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


@contextmanager
def registered_no_op(name: str):
    """A fake method that returns the model unchanged, registered under ``name`` for the
    duration: the control every verification check must catch."""
    from dataclasses import dataclass

    from unlearn_core.methods import METHODS, UnlearningMethod, register

    @dataclass
    class NoOp(UnlearningMethod):
        paper = "a fake for tests: returns the model unchanged"
        needs_retain = False

        def _unlearn(self, model, forget, retain, ctx, log):
            log.append("nothing done")
            return model

    NoOp.name = name
    register(NoOp)
    try:
        yield name
    finally:
        del METHODS[name]


@contextmanager
def registered_model(name: str, model):
    """A fake method that returns a copy of ``model`` (e.g. a retrain with another seed trained
    beforehand), registered under ``name`` for the duration: a known-genuine model judged
    without an exact-counterpart proof, so the statistical checks alone decide it."""
    from dataclasses import dataclass

    from unlearn_core.methods import METHODS, UnlearningMethod, register
    from unlearn_core.models import clone_model

    @dataclass
    class Given(UnlearningMethod):
        paper = "a fake for tests: a model trained beforehand"

        def _unlearn(self, m, forget, retain, ctx, log):
            log.append("a model trained beforehand")
            return clone_model(model)

    Given.name = name
    register(Given)
    try:
        yield name
    finally:
        del METHODS[name]

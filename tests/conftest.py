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
if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs pytest in two xdist workers on a 2-core machine: one core each, so one
    # torch (OpenMP/MKL) thread per worker and per process it starts (app servers, CLI runs);
    # two spinning threads per worker would make the small models several times slower.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)


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


# The expensive objects that several test files share, built once per process: a session
# fixture (by name) or a cached builder the files import (by the name they import it under).
SHARED_FIXTURES = {"class_audit": "class_audit", "setting": "contract_setting"}
SHARED_BUILDERS = {"class3_zoo": "class3_zoo"}


def xdist_unit(items) -> dict[str, str]:
    """Each test file's unit of work under ``--dist loadgroup``: the group of the shared object
    it uses (all its files then run on the one worker that builds the object), else the file
    itself (its module fixtures are built once, as with ``--dist loadfile``)."""
    unit: dict[str, str] = {}
    for item in items:
        path = item.nodeid.split("::")[0]
        group = next((g for name, g in SHARED_FIXTURES.items() if name in item.fixturenames),
                     None) or next((g for name, g in SHARED_BUILDERS.items()
                                    if hasattr(getattr(item, "module", None), name)), None)
        if group is not None or path not in unit:
            unit[path] = group or unit.get(path) or path
    return unit


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under ``make test`` (``-n 2 --dist loadgroup --no-loadscope-reorder``): group the items
    by ``xdist_unit`` and hand the workers the long units first (the shared groups, then the
    browser and slow files, then the rest in collection order), so neither worker is left
    with a long file at the end while the other idles."""
    # a worker sees `dist` as "no" and `loadgroup` set; the controller sees `dist` itself
    if not (getattr(config.option, "loadgroup", False)
            or getattr(config.option, "dist", "no") == "loadgroup"):
        return
    unit = xdist_unit(items)
    shared = set(SHARED_FIXTURES.values()) | set(SHARED_BUILDERS.values())
    slow = {unit[item.nodeid.split("::")[0]] for item in items
            if item.get_closest_marker("browser") or item.get_closest_marker("slow")}
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(unit[item.nodeid.split("::")[0]]))
    rank = {u: 0 if u in shared else 1 if u in slow else 2 for u in unit.values()}
    items.sort(key=lambda item: rank[unit[item.nodeid.split("::")[0]]])  # stable


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
